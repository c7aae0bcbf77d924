// The operator page: live view, who is in view, the enrolled people, enroll and forget.
// Names are always set with textContent (never innerHTML): they come from users.
'use strict';

const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const state = { faces: [], chosen: null };

function $(id) { return document.getElementById(id); }

function show(text, ok) {
  const box = $('message');
  box.textContent = text;
  box.className = ok ? 'ok' : 'error';
}

async function post(url, body) {
  const options = { method: 'POST', headers: { 'X-CSRF-Token': csrfToken },
                    credentials: 'same-origin' };
  if (body instanceof FormData) {
    options.body = body;
  } else {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    return { success: false, message: 'the robot does not answer: is face_web running?' };
  }
  let data = {};
  try { data = await response.json(); } catch (error) { data = {}; }
  if (!data.message) {
    data.message = response.status === 413
      ? 'the upload is too large: send fewer or smaller photos'
      : `the request failed (HTTP ${response.status})`;
  }
  data.success = response.ok && data.success !== false;
  return data;
}

// --- people ----------------------------------------------------------------------------
async function loadPeople() {
  let data;
  try {
    const response = await fetch('/api/people', { credentials: 'same-origin' });
    data = await response.json();
    if (!response.ok) { throw new Error(data.message || `HTTP ${response.status}`); }
  } catch (error) {
    const list = $('people');
    list.replaceChildren(item('muted', `cannot list people: ${error.message}`));
    return;
  }
  renderPeople(data.people);
}

function item(className, text) {
  const li = document.createElement('li');
  li.className = className;
  li.textContent = text;
  return li;
}

function renderPeople(people) {
  const list = $('people');
  if (!people.length) {
    list.replaceChildren(item('muted', 'nobody enrolled yet'));
    return;
  }
  list.replaceChildren(...people.map((person) => {
    const li = document.createElement('li');
    li.dataset.name = person.name;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = person.name;
    const count = document.createElement('span');
    count.className = 'muted count';
    count.textContent = `${person.count} sample${person.count === 1 ? '' : 's'}`;
    const forget = document.createElement('button');
    forget.type = 'button';
    forget.className = 'forget';
    forget.textContent = 'Forget';
    forget.addEventListener('click', () => confirmForget(li, person.name));
    li.append(name, count, forget);
    return li;
  }));
}

function confirmForget(li, name) {
  const question = document.createElement('span');
  question.className = 'confirm';
  question.textContent = `Forget ${name}?`;
  const yes = document.createElement('button');
  yes.type = 'button';
  yes.className = 'danger confirm-forget';
  yes.textContent = 'Yes, forget';
  const no = document.createElement('button');
  no.type = 'button';
  no.textContent = 'Cancel';
  no.addEventListener('click', loadPeople);
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    const reply = await post('/api/forget', { name });
    show(reply.message, reply.success);
    loadPeople();
  });
  li.replaceChildren(question, yes, no);
}

// --- who is in view --------------------------------------------------------------------
function renderIdentities(faces) {
  state.faces = faces;
  const list = $('identities');
  if (!faces.length) {
    list.replaceChildren(item('muted', 'nobody'));
    return;
  }
  list.replaceChildren(...faces.map((face) => {
    const li = document.createElement('li');
    li.className = face.name === 'unknown' ? 'unknown' : 'known';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = face.name;
    const detail = document.createElement('span');
    detail.className = 'muted';
    const track = face.track_id === null ? '' : ` #${face.track_id}`;
    detail.textContent = (face.name === 'unknown' ? '' : face.confidence.toFixed(2)) + track;
    li.append(name, detail);
    return li;
  }));
}

function renderStatus(status) {
  const rows = status.nodes.map((node) => {
    const tr = document.createElement('tr');
    const cells = [node.name, node.level, node.rate_hz, node.latency_ms, node.dropped];
    cells.forEach((value, index) => {
      const td = document.createElement('td');
      td.textContent = value;
      if (index === 1) { td.className = node.level; td.title = node.message; }
      tr.append(td);
    });
    return tr;
  });
  $('status').tBodies[0].replaceChildren(...rows);
}

function connectEvents() {
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => { $('connection').textContent = 'connected'; });
  events.addEventListener('error', () => {
    $('connection').textContent = 'connection lost, retrying...';
  });
  events.addEventListener('identities', (event) => {
    renderIdentities(JSON.parse(event.data).faces);
  });
  events.addEventListener('status', (event) => renderStatus(JSON.parse(event.data)));
}

// --- enroll by clicking a face -----------------------------------------------------------
function faceAt(x, y) {
  const inside = state.faces.filter((face) => {
    const [bx, by, bw, bh] = face.box;
    return x >= bx && x <= bx + bw && y >= by && y <= by + bh;
  });
  inside.sort((a, b) => a.box[2] * a.box[3] - b.box[2] * b.box[3]);
  return inside[0] || null;
}

function onViewClick(event) {
  const image = $('live');
  if (!image.naturalWidth) { show('no camera image yet: wait until the picture shows'); return; }
  const rect = image.getBoundingClientRect();
  const x = (event.clientX - rect.left) * image.naturalWidth / rect.width;
  const y = (event.clientY - rect.top) * image.naturalHeight / rect.height;
  const face = faceAt(x, y);
  if (!face) { show('no face there: click inside a box'); return; }
  state.chosen = { track_id: face.track_id, x, y };
  const label = face.track_id === null ? '' : `#${face.track_id}`;
  $('enroll-track').textContent = `${label} (now: ${face.name})`;
  $('enroll-face').hidden = false;
  $('enroll-name').value = face.name === 'unknown' ? '' : face.name;
  $('enroll-name').focus();
}

async function onEnrollFace(event) {
  event.preventDefault();
  if (!state.chosen) { return; }
  $('enroll-submit').disabled = true;
  show('enrolling...', true);
  const reply = await post('/api/enroll', { ...state.chosen, name: $('enroll-name').value });
  $('enroll-submit').disabled = false;
  show(reply.message, reply.success);
  if (reply.success) {
    $('enroll-face').hidden = true;
    state.chosen = null;
    loadPeople();
  }
}

async function onUpload(event) {
  event.preventDefault();
  const form = new FormData();
  form.append('name', $('upload-name').value);
  for (const file of $('upload-photos').files) { form.append('photos', file, file.name); }
  $('upload-submit').disabled = true;
  show('uploading...', true);
  const reply = await post('/api/enroll_upload', form);
  $('upload-submit').disabled = false;
  show(reply.message, reply.success);
  if (reply.success) { loadPeople(); }
}

function onLiveError() {
  // The stream ends when face_web stops or restarts: try again in a moment.
  setTimeout(() => { $('live').src = `/stream.mjpg?t=${Date.now()}`; }, 2000);
}

$('live').addEventListener('click', onViewClick);
$('live').addEventListener('error', onLiveError);
$('enroll-face').addEventListener('submit', onEnrollFace);
$('enroll-cancel').addEventListener('click', () => {
  $('enroll-face').hidden = true;
  state.chosen = null;
});
$('upload').addEventListener('submit', onUpload);
connectEvents();
loadPeople();
// An MJPEG stream never finishes loading: started after the page's load event, it does not
// keep the browser's loading indicator (and the load event) waiting forever.
window.addEventListener('load', () => { $('live').src = '/stream.mjpg'; });
// Others may enroll too (a second page, the services): refresh, unless a question is open.
setInterval(() => { if (!document.querySelector('#people .confirm')) { loadPeople(); } }, 5000);
