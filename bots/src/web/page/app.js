// The web chat: the transcript from /api/history, then live from /api/events (Server-Sent
// Events); messages and files go to /api/messages. No framework, nothing fetched elsewhere.
"use strict";

const transcript = document.getElementById("transcript");
const form = document.getElementById("composer");
const textBox = document.getElementById("text");
const fileInput = document.getElementById("file");
const attached = document.getElementById("attached");
const recordButton = document.getElementById("record");
const bubbles = new Map(); // message id -> bubble element
let lastId = "";
let recorded = null; // a voice note recorded here, as a File

function scrollDown() { transcript.scrollTop = transcript.scrollHeight; }

// The percent in a status text ("… 40% …"), for the bar.
function percentOf(text) {
  const m = /(\d{1,3})%/.exec(text || "");
  return m ? Math.min(100, Number(m[1])) : null;
}

function fill(bubble, event) {
  bubble.textContent = "";
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = event.text || "";
  bubble.appendChild(text);
  if (event.attachment) {
    const note = document.createElement("span");
    note.className = "note";
    note.textContent = "📎 " + event.attachment;
    bubble.appendChild(note);
  }
  const percent = percentOf(event.text);
  if (percent !== null && event.from === "bot" && !event.video) {
    const bar = document.createElement("div");
    bar.className = "progress";
    const inner = document.createElement("div");
    inner.style.width = percent + "%";
    bar.appendChild(inner);
    bubble.appendChild(bar);
  }
  if (event.video) {
    const video = document.createElement("video");
    video.controls = true;
    video.preload = "metadata";
    video.playsInline = true;
    video.src = event.video;
    bubble.appendChild(video);
    const link = document.createElement("a");
    link.className = "download";
    link.href = event.video;
    link.download = "spinbot.mp4";
    link.textContent = "Download the video";
    bubble.appendChild(link);
  }
  const controls = event.controls || [];
  if (controls.length) {
    const row = document.createElement("div");
    row.className = "controls";
    for (const control of controls) row.appendChild(controlElement(control));
    bubble.appendChild(row);
  }
}

// A button that sends its control's id (and its label, for the transcript), or the voice menu.
function controlElement(control) {
  if (control.kind === "voices") {
    const select = document.createElement("select");
    const first = new Option(control.label, "");
    first.disabled = true;
    first.selected = true;
    select.appendChild(first);
    fetch("/api/voices").then((r) => r.json()).then((voices) => {
      for (const v of voices) select.appendChild(new Option(v.label, v.name));
    });
    select.addEventListener("change", () =>
      send(select.options[select.selectedIndex].text, null, { control: control.id, value: select.value }));
    return select;
  }
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = control.label;
  button.addEventListener("click", () => send(control.label, null, { control: control.id }));
  return button;
}

function show(event) {
  if (event.id) lastId = event.id;
  if (event.kind === "edit") {
    const bubble = bubbles.get(event.message);
    if (bubble) fill(bubble, Object.assign({ from: "bot" }, event));
  } else {
    const bubble = document.createElement("div");
    bubble.className = "bubble " + (event.from === "you" ? "you" : "bot");
    bubble.dataset.message = event.id;
    fill(bubble, event);
    bubbles.set(event.id, bubble);
    transcript.appendChild(bubble);
  }
  scrollDown();
}

async function send(text, file, press) {
  const body = new FormData();
  body.append("text", text || "");
  if (press) {
    body.append("control", press.control);
    if (press.value !== undefined) body.append("value", press.value);
  }
  if (file) body.append("file", file, file.name || "file");
  const response = await fetch("/api/messages", { method: "POST", body, credentials: "same-origin" });
  if (!response.ok) {
    let said = "Sorry, that didn't go through.";
    try { said = (await response.json()).error || said; } catch (_) { /* not JSON */ }
    show({ kind: "message", from: "bot", text: said });
  }
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = recorded || fileInput.files[0] || null;
  const text = textBox.value.trim();
  if (!text && !file) return;
  textBox.value = "";
  fileInput.value = "";
  recorded = null;
  attached.hidden = true;
  await send(text, file);
});

fileInput.addEventListener("change", () => {
  const file = fileInput.files[0];
  recorded = null;
  attached.hidden = !file;
  if (file) attached.textContent = "Attached: " + file.name;
});

// Recording a voice note where the browser allows it.
if (navigator.mediaDevices && window.MediaRecorder) {
  recordButton.hidden = false;
  let recorder = null;
  recordButton.addEventListener("click", async () => {
    if (recorder) { recorder.stop(); return; }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = (e) => chunks.push(e.data);
      recorder.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        const type = recorder.mimeType || "audio/webm";
        recorded = new File(chunks, type.includes("ogg") ? "voice.ogg" : "voice.webm", { type });
        recorder = null;
        recordButton.classList.remove("on");
        attached.hidden = false;
        attached.textContent = "Attached: a voice note you recorded";
      };
      recorder.start();
      recordButton.classList.add("on");
    } catch (_) {
      show({ kind: "message", from: "bot", text: "The browser did not let me use the microphone." });
    }
  });
}

// The transcript so far, then what comes (the browser reconnects with Last-Event-ID).
async function start() {
  const response = await fetch("/api/history", { credentials: "same-origin" });
  const history = await response.json();
  for (const event of history.events) show(event);
  const events = new EventSource("/api/events" + (lastId ? "?after=" + encodeURIComponent(lastId) : ""));
  events.addEventListener("chat", (e) => show(JSON.parse(e.data)));
}
start();
