// One-to-one video call: WebRTC between the two browsers, signalling relayed by the app.
//
// Each page load is a new "peer" with a random id. It announces itself with "hello"; the other side
// answers "welcome". Whenever a new peer appears, both start a fresh RTCPeerConnection and the
// doctor's side makes the offer (one offerer: no glare). Offers, answers and ICE candidates carry
// {from, to} peer ids, so signals for an earlier page load are ignored. Signals are POSTed one after
// another (server order = send order) and fetched by polling. The page shows the connection state
// in data-connection-state for people and tests alike.
(function () {
  "use strict";

  var root = document.getElementById("video-call");
  if (!root || !window.RTCPeerConnection) return;

  var signalUrl = root.dataset.signalUrl;
  var csrf = root.dataset.csrf;
  var iceServers = [];
  try { iceServers = JSON.parse(root.dataset.iceServers || "[]"); } catch (e) { iceServers = []; }
  var isOfferer = root.dataset.role === "doctor";
  var after = parseInt(root.dataset.after || "0", 10) || 0;
  var me = randomId();
  var remotePeer = null;
  var pc = null;
  var localStream = null;
  var pendingCandidates = [];
  var pollTimer = null;
  var stopped = false;
  var sendChain = Promise.resolve();
  var handleChain = Promise.resolve();

  var localVideo = document.getElementById("local-video");
  var remoteVideo = document.getElementById("remote-video");
  var statusLine = document.getElementById("call-status");
  var cameraButton = document.getElementById("toggle-camera");
  var micButton = document.getElementById("toggle-mic");
  var hangUpButton = document.getElementById("hang-up");
  var rejoinLink = document.getElementById("rejoin");

  function randomId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function text(name, fallback) {
    return root.dataset["text" + name] || fallback;
  }

  function say(message) {
    statusLine.textContent = message;
  }

  function setState(state) {
    root.dataset.connectionState = state;
  }

  function post(body, keepalive) {
    return fetch(signalUrl, {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body)
    });
  }

  function wait(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // Deliver one signal, trying again while the server is busy or the network hiccups.
  function deliver(body, attempt) {
    return post(body).then(function (response) {
      if (response.ok || response.status < 409 || attempt >= 5) return response;
      return wait(400 * Math.pow(2, attempt)).then(function () { return deliver(body, attempt + 1); });
    }, function (error) {
      if (attempt >= 5) throw error;
      return wait(400 * Math.pow(2, attempt)).then(function () { return deliver(body, attempt + 1); });
    });
  }

  // One POST at a time, so the other side receives signals in the order they were made.
  function send(kind, payload) {
    sendChain = sendChain.then(function () { return deliver({ kind: kind, payload: payload }, 0); })
      .catch(function () { /* given up: the periodic hello or a reload recovers */ });
    return sendChain;
  }

  function closeConnection() {
    if (pc) {
      pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = null;
      pc.close();
    }
    pc = null;
    pendingCandidates = [];
    remoteVideo.srcObject = null;
  }

  function newConnection() {
    closeConnection();
    pc = new RTCPeerConnection({ iceServers: iceServers });
    var peer = remotePeer;
    if (localStream) {
      localStream.getTracks().forEach(function (track) { pc.addTrack(track, localStream); });
    } else {
      pc.addTransceiver("audio", { direction: "recvonly" });
      pc.addTransceiver("video", { direction: "recvonly" });
    }
    pc.onicecandidate = function (event) {
      if (event.candidate) send("candidate", { from: me, to: peer, candidate: event.candidate.toJSON() });
    };
    pc.ontrack = function (event) {
      var stream = event.streams && event.streams[0];
      if (stream && remoteVideo.srcObject !== stream) remoteVideo.srcObject = stream;
    };
    pc.onconnectionstatechange = function () {
      if (!pc) return;
      var state = pc.connectionState;
      setState(state);
      if (state === "connected") say(text("Connected", "Connected"));
      else if (state === "connecting") say(text("Connecting", "Connecting…"));
      else if (state === "failed") {
        say(text("Failed", "The connection failed. Trying again…"));
        if (isOfferer) makeOffer(true);
      }
    };
    setState(pc.connectionState);
    say(text("Connecting", "Connecting…"));
  }

  function makeOffer(iceRestart) {
    var peer = remotePeer;
    return pc.createOffer(iceRestart ? { iceRestart: true } : undefined)
      .then(function (offer) { return pc.setLocalDescription(offer); })
      .then(function () { send("offer", { from: me, to: peer, description: pc.localDescription.toJSON() }); });
  }

  function flushCandidates() {
    var waiting = pendingCandidates;
    pendingCandidates = [];
    return Promise.all(waiting.map(function (c) { return pc.addIceCandidate(c).catch(function () {}); }));
  }

  function meetPeer(peer, reply) {
    if (peer === remotePeer && pc) {
      // Already talking to this page; it may have missed our welcome, so say it again.
      if (reply) send("welcome", { from: me, to: peer });
      return Promise.resolve();
    }
    remotePeer = peer;
    newConnection();
    if (reply) send("welcome", { from: me, to: peer });
    return isOfferer ? makeOffer(false) : Promise.resolve();
  }

  function handle(kind, p) {
    if (!p || typeof p !== "object" || p.from === me) return Promise.resolve();
    if (p.to && p.to !== me) return Promise.resolve(); // meant for an earlier load of this page
    if (kind === "hello") return meetPeer(p.from, true);
    if (kind === "welcome") return meetPeer(p.from, false);
    if (p.from !== remotePeer || !pc) return Promise.resolve();
    if (kind === "offer") {
      return pc.setRemoteDescription(p.description)
        .then(flushCandidates)
        .then(function () { return pc.createAnswer(); })
        .then(function (answer) { return pc.setLocalDescription(answer); })
        .then(function () { send("answer", { from: me, to: remotePeer, description: pc.localDescription.toJSON() }); });
    }
    if (kind === "answer") {
      if (pc.signalingState !== "have-local-offer") return Promise.resolve();
      return pc.setRemoteDescription(p.description).then(flushCandidates);
    }
    if (kind === "candidate") {
      if (pc.remoteDescription) return pc.addIceCandidate(p.candidate).catch(function () {});
      pendingCandidates.push(p.candidate);
      return Promise.resolve();
    }
    if (kind === "bye") {
      closeConnection();
      remotePeer = null;
      setState("closed");
      say(text("Left", "The other person left the call."));
    }
    return Promise.resolve();
  }

  function schedulePoll(ms) {
    clearTimeout(pollTimer);
    if (stopped) return;
    var connected = pc && pc.connectionState === "connected";
    pollTimer = setTimeout(poll, ms || (connected ? 3000 : 1000));
  }

  function poll() {
    if (stopped) return;
    fetch(signalUrl + "?after=" + after, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("signals " + response.status);
        return response.json();
      })
      .then(function (data) {
        data.signals.forEach(function (signal) {
          after = Math.max(after, signal.id);
          handleChain = handleChain.then(function () { return handle(signal.kind, signal.payload); })
            .catch(function () { /* a broken negotiation restarts with the next hello */ });
        });
        if (!data.open && !(pc && pc.connectionState === "connected")) {
          end(text("Closed", "The call time is over."), false); // a call in progress goes on
          return;
        }
        handleChain.then(function () { schedulePoll(); });
      })
      .catch(function () { schedulePoll(3000); });
  }

  function end(message, tellOther) {
    if (stopped) return;
    stopped = true;
    clearTimeout(pollTimer);
    if (tellOther && remotePeer) post({ kind: "bye", payload: { from: me, to: remotePeer } }, true).catch(function () {});
    closeConnection();
    if (localStream) localStream.getTracks().forEach(function (track) { track.stop(); });
    localVideo.srcObject = null;
    setState("closed");
    say(message);
    cameraButton.disabled = micButton.disabled = hangUpButton.disabled = true;
    rejoinLink.hidden = false;
  }

  function toggle(button, kind, onText, offText) {
    if (!localStream) return;
    var tracks = kind === "video" ? localStream.getVideoTracks() : localStream.getAudioTracks();
    var on = button.getAttribute("aria-pressed") !== "true";
    tracks.forEach(function (track) { track.enabled = on; });
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? onText : offText;
  }

  cameraButton.addEventListener("click", function () {
    toggle(cameraButton, "video", text("CameraOn", "Camera on"), text("CameraOff", "Camera off"));
  });
  micButton.addEventListener("click", function () {
    toggle(micButton, "audio", text("MicOn", "Microphone on"), text("MicOff", "Microphone off"));
  });
  hangUpButton.addEventListener("click", function () { end(text("Ended", "You left the call."), true); });
  window.addEventListener("pagehide", function () {
    if (!stopped && remotePeer) post({ kind: "bye", payload: { from: me, to: remotePeer } }, true).catch(function () {});
  });

  function start(stream) {
    localStream = stream;
    if (stream) {
      localVideo.srcObject = stream;
    } else {
      cameraButton.disabled = micButton.disabled = true;
    }
    say(text("Waiting", "Waiting for the other person to join…"));
    send("hello", { from: me });
    // Until someone answers, say hello now and then (in case a hello was lost on the way).
    var helloTimer = setInterval(function () {
      if (stopped) clearInterval(helloTimer);
      else if (!remotePeer) send("hello", { from: me });
    }, 10000);
    poll();
  }

  var media = navigator.mediaDevices && navigator.mediaDevices.getUserMedia
    ? navigator.mediaDevices.getUserMedia({ video: true, audio: true })
    : Promise.reject(new Error("no media devices"));
  media.then(start, function () {
    start(null);
    say(text("NoMedia", "Your camera or microphone is not available."));
  });
})();
