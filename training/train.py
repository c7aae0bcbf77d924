# Copyright 2026 face_recognition maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Fine-tune a torchvision ResNet-18 to tell apart the people of a folder-per-person dataset.

Shaped like torchvision's ``references/classification/train.py``: ``get_args_parser()``
then ``main(args)``, with ``train_one_epoch`` and ``evaluate``. Every epoch writes a
checkpoint (model, optimizer, scheduler, epoch, arguments as a plain dict) that
``torch.load(..., weights_only=True)`` reads, plus ``best.pth``; ``--resume`` continues from
one; ``metrics.json`` and ``curves.png`` record the run.

    python -m training.train DATA_DIR --output-dir runs/orl --epochs 15 --weights none

``DATA_DIR`` holds one sub-folder of aligned face crops per person
(``training/extract_faces.py`` makes it). Export the result with ``training/export.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
from pathlib import Path
import sys
import tempfile
import time

if __package__ in (None, ''):
    # Run as a script (python training/train.py): make `training` importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch import nn
from tqdm import tqdm
from training.face_dataset import (
    build_transforms, check_images, DatasetError, FaceFolderDataset, IMAGENET_MEAN, IMAGENET_STD,
    list_people, split_per_person
)

LOG = logging.getLogger('training.train')
FREEZE_CHOICES = ('head', 'last-block', 'none')


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description='Fine-tune ResNet-18 on a folder of face crops, one sub-folder per '
                    'person.', add_help=add_help)
    parser.add_argument('data_dir', help='folder with one sub-folder of face crops per person')
    parser.add_argument('--output-dir', default='runs/train',
                        help='where checkpoints, metrics.json and curves.png go')
    parser.add_argument('--epochs', type=int, default=15)
    parser.add_argument('-b', '--batch-size', type=int, default=16)
    parser.add_argument('--lr', type=float, default=1e-3, help='initial learning rate')
    parser.add_argument('--wd', '--weight-decay', dest='weight_decay', type=float,
                        default=1e-4)
    parser.add_argument('--opt', choices=('adamw', 'sgd'), default='adamw',
                        help='optimizer (sgd uses momentum 0.9)')
    parser.add_argument('--freeze', choices=FREEZE_CHOICES, default='none',
                        help='what stays fixed: "head" trains only the final layer, '
                             '"last-block" trains layer4 and the final layer, "none" trains '
                             'all. Freezing only makes sense with pretrained --weights.')
    parser.add_argument('--lr-step', type=int, default=7,
                        help='StepLR: multiply the learning rate by --lr-gamma every this '
                             'many epochs')
    parser.add_argument('--lr-gamma', type=float, default=0.1)
    parser.add_argument('--seed', type=int, default=0,
                        help='seeds the split, the weights of new layers and augmentation')
    parser.add_argument('--device', default='auto', help='auto, cpu, cuda or cuda:N')
    parser.add_argument('--weights', default='none',
                        help='"imagenet" (torchvision download: needs internet), "none" '
                             '(random init) or a path to a .pth state dict or checkpoint')
    parser.add_argument('--input-size', type=int, default=112,
                        help='side of the square network input; aligned crops are 112x112 '
                             '(224 is the ImageNet size: slower, sometimes better)')
    split = parser.add_mutually_exclusive_group()
    split.add_argument('--val-per-person', type=int, default=None,
                       help='validation photos per person (default: --val-fraction)')
    split.add_argument('--val-fraction', type=float, default=0.2,
                       help="fraction of each person's photos for validation (at least 1)")
    parser.add_argument('--resume', default='', help='checkpoint to continue from')
    parser.add_argument('--workers', type=int, default=0,
                        help='data loading processes (0 loads in the main process)')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument('--keep-every-epoch', action='store_true',
                        help='also keep model_<epoch>.pth for every epoch (about 130 MB '
                             'each); checkpoint.pth (latest) and best.pth are always written')
    parser.add_argument('--test-only', action='store_true',
                        help='only evaluate the --resume checkpoint on the validation split')
    parser.add_argument('--no-progress', action='store_true', help='hide progress bars')
    return parser


def resolve_device(name: str) -> torch.device:
    if name == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    device = torch.device(name)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'--device {name}: no CUDA device is available here; use '
                         '--device cpu or auto')
    return device


def build_model(num_classes: int, weights: str) -> nn.Module:
    """ResNet-18 with a new final layer for ``num_classes`` people."""
    import torchvision

    if weights == 'imagenet':
        try:
            model = torchvision.models.resnet18(
                weights=torchvision.models.ResNet18_Weights.IMAGENET1K_V1)
        except Exception as error:  # urllib/SSL/HTTP errors all mean "could not download"
            raise SystemExit(
                f'--weights imagenet: could not get the ImageNet weights ({error}). They '
                'download from download.pytorch.org; without internet use --weights none '
                'or --weights PATH to a resnet18 .pth file.') from error
    else:
        model = torchvision.models.resnet18(weights=None)
        if weights not in ('none', ''):
            load_backbone_weights(model, weights)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model


def read_checkpoint(path: str, option: str, ours: bool = True) -> dict:
    """
    ``torch.load(path, weights_only=True)``, or SystemExit naming ``option`` and the fix.

    ``ours``: the file must be a checkpoint written by this script (model, class names...),
    not just a state dict.
    """
    if not Path(path).is_file():
        raise SystemExit(f'{option} {path}: no such file; give a checkpoint.pth or best.pth '
                         'written by training/train.py')
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError...
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0].split('. ')[0]
        raise SystemExit(f'{option} {path}: not a readable PyTorch checkpoint ({reason}); it '
                         'is damaged or another kind of file: use the checkpoint.pth or '
                         'best.pth of a finished epoch') from None
    if not isinstance(checkpoint, dict) or (
            ours and not {'model', 'class_names', 'input_size'} <= set(checkpoint)):
        raise SystemExit(f'{option} {path}: not a checkpoint of training/train.py (no model, '
                         'class names and input size in it)')
    return checkpoint


def load_backbone_weights(model: nn.Module, path: str) -> None:
    """
    Load a torchvision state dict or one of our checkpoints, except the final layer.

    The final layer is always new (its size is the number of people), so a checkpoint
    trained on other people still gives a useful backbone.
    """
    if not Path(path).is_file():
        raise SystemExit(f'--weights {path}: no such file; use "none", "imagenet" or a '
                         'path to a .pth file')
    state = read_checkpoint(path, '--weights', ours=False)
    if isinstance(state, dict) and 'model' in state:
        state = state['model']
    state = {k: v for k, v in state.items() if not k.startswith('fc.')}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith('fc.')]
    if missing or unexpected:
        raise SystemExit(f'--weights {path}: not a ResNet-18 state dict (missing '
                         f'{missing[:3]}, unexpected {unexpected[:3]})')


def trainable_modules(model: nn.Module, freeze: str) -> list[nn.Module]:
    if freeze == 'head':
        return [model.fc]
    if freeze == 'last-block':
        return [model.layer4, model.fc]
    return [model]


def apply_freeze(model: nn.Module, freeze: str) -> list[nn.Parameter]:
    """Turn off gradients outside the trained part; return the parameters to optimise."""
    for parameter in model.parameters():
        parameter.requires_grad = False
    params = []
    for module in trainable_modules(model, freeze):
        for parameter in module.parameters():
            parameter.requires_grad = True
            params.append(parameter)
    return params


def set_train_mode(model: nn.Module, freeze: str) -> None:
    """
    Train mode for the trained part only.

    Frozen layers stay in eval mode so their BatchNorm running statistics stay those of
    the pretrained weights: a few face photos per person would otherwise drift them.
    """
    model.eval()
    for module in trainable_modules(model, freeze):
        module.train()


def train_one_epoch(model, criterion, optimizer, loader, device, epoch, freeze='none',
                    progress=True) -> dict:
    set_train_mode(model, freeze)
    total_loss, correct, seen = 0.0, 0, 0
    bar = tqdm(loader, desc=f'epoch {epoch} train', leave=False, disable=not progress)
    for images, labels in bar:
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        loss = criterion(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(labels)
        correct += (logits.argmax(1) == labels).sum().item()
        seen += len(labels)
        bar.set_postfix(loss=f'{total_loss / seen:.3f}')
    return {'loss': total_loss / max(seen, 1), 'acc': correct / max(seen, 1)}


@torch.inference_mode()
def evaluate(model, criterion, loader, device, progress=True, desc='val') -> dict:
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    for images, labels in tqdm(loader, desc=desc, leave=False, disable=not progress):
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        total_loss += criterion(logits, labels).item() * len(labels)
        correct += (logits.argmax(1) == labels).sum().item()
        seen += len(labels)
    return {'loss': total_loss / max(seen, 1), 'acc': correct / max(seen, 1)}


def save_atomic(obj, path: Path) -> None:
    """
    torch.save to a temp file beside ``path`` then rename, owner-only (0o600).

    A model trained on faces is derived from personal data, and an interrupted save must
    not destroy the previous checkpoint.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as handle:
            torch.save(obj, handle)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(data, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as handle:
            json.dump(data, handle, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def plot_curves(history: list[dict], path: Path) -> None:
    """Loss and accuracy per epoch, train and validation, as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt

    epochs = [h['epoch'] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [h['train_loss'] for h in history], 'o-', label='train')
    ax_loss.plot(epochs, [h['val_loss'] for h in history], 's-', label='validation')
    ax_loss.set_xlabel('epoch')
    ax_loss.set_ylabel('cross-entropy loss')
    ax_loss.legend()
    ax_acc.plot(epochs, [h['train_acc'] for h in history], 'o-', label='train')
    ax_acc.plot(epochs, [h['val_acc'] for h in history], 's-', label='validation')
    ax_acc.set_xlabel('epoch')
    ax_acc.set_ylabel('top-1 accuracy')
    ax_acc.set_ylim(0, 1.02)
    ax_acc.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plain_args(args: argparse.Namespace) -> dict:
    """vars(args) with only JSON types, so weights_only=True loading accepts it."""
    out = {}
    for key, value in vars(args).items():
        out[key] = value if isinstance(value, (str, int, float, bool, type(None))) \
            else str(value)
    return out


def main(args: argparse.Namespace) -> dict:
    """Train (or with --test-only evaluate); return the final metrics dict."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    checkpoint = None
    if args.resume:
        checkpoint = read_checkpoint(args.resume, '--resume')
        # The split and the input size must be the checkpoint's, or "validation" would
        # hold photos it trained on, or the network would see another resolution.
        recorded = checkpoint.get('args', {})
        for key in ('seed', 'val_per_person', 'val_fraction', 'input_size', 'freeze'):
            if key in recorded and getattr(args, key) != recorded[key]:
                LOG.info("--resume: using the checkpoint's %s=%r (not %r)", key,
                         recorded[key], getattr(args, key))
                setattr(args, key, recorded[key])
    elif args.test_only:
        raise SystemExit('--test-only evaluates a checkpoint: give it with --resume')

    try:
        people = list_people(args.data_dir)
        train_samples, val_samples, class_names = split_per_person(
            people, args.val_per_person, args.val_fraction, args.seed)
        check_images(train_samples + val_samples)
    except DatasetError as error:
        raise SystemExit(str(error)) from error
    if checkpoint is not None and checkpoint['class_names'] != class_names:
        raise SystemExit(f'--resume {args.resume} was trained on other people '
                         f'({checkpoint["class_names"][:5]}...) than {args.data_dir}')
    LOG.info('%d people, %d training and %d validation photos', len(class_names),
             len(train_samples), len(val_samples))

    generator = torch.Generator().manual_seed(args.seed)
    train_loader = torch.utils.data.DataLoader(
        FaceFolderDataset(train_samples, build_transforms(args.input_size, train=True)),
        batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
        generator=generator, drop_last=len(train_samples) > args.batch_size)
    val_loader = torch.utils.data.DataLoader(
        FaceFolderDataset(val_samples, build_transforms(args.input_size, train=False)),
        batch_size=args.batch_size, shuffle=False, num_workers=args.workers)

    model = build_model(len(class_names), 'none' if checkpoint else args.weights)
    params = apply_freeze(model, args.freeze)
    model.to(device)
    criterion = nn.CrossEntropyLoss()
    if args.opt == 'sgd':
        optimizer = torch.optim.SGD(params, lr=args.lr, momentum=0.9,
                                    weight_decay=args.weight_decay)
    else:
        optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=args.lr_step,
                                                   gamma=args.lr_gamma)
    start_epoch, history, best_acc = 0, [], -1.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint['model'])
        if not args.test_only:
            optimizer.load_state_dict(checkpoint['optimizer'])
            lr_scheduler.load_state_dict(checkpoint['lr_scheduler'])
        start_epoch = checkpoint['epoch'] + 1
        history = list(checkpoint.get('history', []))
        best_acc = float(checkpoint.get('best_acc', -1.0))
        LOG.info('resumed from %s at epoch %d', args.resume, start_epoch)

    progress = not args.no_progress
    if args.test_only:
        metrics = evaluate(model, criterion, val_loader, device, progress)
        LOG.info('validation loss %.4f accuracy %.4f', metrics['loss'], metrics['acc'])
        return metrics

    meta = {'class_names': class_names, 'input_size': args.input_size,
            'mean': list(IMAGENET_MEAN), 'std': list(IMAGENET_STD),
            'args': plain_args(args)}
    for epoch in range(start_epoch, args.epochs):
        started = time.monotonic()
        train_metrics = train_one_epoch(model, criterion, optimizer, train_loader, device,
                                        epoch, args.freeze, progress)
        lr = optimizer.param_groups[0]['lr']
        lr_scheduler.step()
        val_metrics = evaluate(model, criterion, val_loader, device, progress)
        history.append({'epoch': epoch, 'lr': lr,
                        'train_loss': train_metrics['loss'], 'train_acc': train_metrics['acc'],
                        'val_loss': val_metrics['loss'], 'val_acc': val_metrics['acc'],
                        'seconds': time.monotonic() - started})
        is_best = val_metrics['acc'] > best_acc
        best_acc = max(best_acc, val_metrics['acc'])
        state = {'model': model.state_dict(), 'optimizer': optimizer.state_dict(),
                 'lr_scheduler': lr_scheduler.state_dict(), 'epoch': epoch,
                 'history': history, 'best_acc': best_acc, **meta}
        save_atomic(state, output_dir / 'checkpoint.pth')
        if args.keep_every_epoch:
            save_atomic(state, output_dir / f'model_{epoch}.pth')
        if is_best:
            save_atomic(state, output_dir / 'best.pth')
        LOG.info('epoch %d: train loss %.4f acc %.3f | val loss %.4f acc %.3f | lr %.2g',
                 epoch, train_metrics['loss'], train_metrics['acc'], val_metrics['loss'],
                 val_metrics['acc'], lr)
        if not math.isfinite(train_metrics['loss']):
            raise SystemExit(f'training diverged at epoch {epoch} (loss is not finite): '
                             'lower --lr')

    summary = {'class_names': class_names, 'num_train': len(train_samples),
               'num_val': len(val_samples), 'best_val_acc': best_acc, 'history': history,
               'val_files': [s.path for s in val_samples], 'args': plain_args(args)}
    write_json_atomic(summary, output_dir / 'metrics.json')
    if history:
        plot_curves(history, output_dir / 'curves.png')
    return summary


def cli(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    args = get_args_parser().parse_args(argv)
    main(args)
    return 0


if __name__ == '__main__':
    sys.exit(cli())
