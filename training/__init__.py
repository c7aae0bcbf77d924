"""Face extraction, ResNet-18 fine-tuning and ONNX export (needs the ``train`` extras).

Run the tools from the repository root, e.g. ``python -m training.train --help``; see
``training/README.md`` for the whole flow.
"""
