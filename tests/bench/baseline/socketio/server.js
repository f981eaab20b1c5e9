// server.js - the Socket.IO baseline of scenario 5: a watch-party room
// server the way CyTube and most watch-party apps fan out chat.
//
//   node server.js PORT [PIDFILE]
//
// A client emits "join" with a room name and its user name (acknowledged
// once it is in the room), then "chat" with {text}; the server checks the
// text (a string of 1 to 2000 characters), builds the message everyone
// sees - an id, the room, the author, the text, the time, as yiqikan's
// chat_message broadcast carries - and sends it to the whole room, sender
// included (io.to(room).emit), as the Socket.IO chat tutorial does.
//
// Socket.IO 4 with its defaults (WebSocket through the `ws` package,
// per-message deflate off, heartbeat every 25 s) plus the native add-ons
// its performance-tuning page recommends (bufferutil, utf-8-validate),
// one Node process: the in-memory adapter, no cluster, no Redis. No
// authentication and nothing stored (yiqikan's room in scenario 5 keeps no
// chat history either).
"use strict";

const { createServer } = require("http");
const fs = require("fs");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const pidfile = process.argv[3];
if (!(port > 0 && port < 65536)) {
  console.error("usage: node server.js PORT [PIDFILE]");
  process.exit(2);
}

const httpServer = createServer();
const io = new Server(httpServer, { serveClient: false });
const rooms = new Map(); // room name -> its message sequence

io.on("connection", (socket) => {
  socket.on("join", (room, username, ack) => {
    if (typeof room !== "string" || typeof username !== "string") return;
    socket.join(room);
    socket.data.room = room;
    socket.data.username = username;
    if (!rooms.has(room)) rooms.set(room, { seq: 0 });
    if (typeof ack === "function") ack({ ok: true });
  });
  socket.on("chat", (msg) => {
    const room = socket.data.room;
    if (room === undefined || !msg || typeof msg.text !== "string") return;
    if (msg.text.length < 1 || msg.text.length > 2000) return;
    const r = rooms.get(room);
    io.to(room).emit("chat", {
      id: ++r.seq,
      room,
      user: socket.data.username,
      text: msg.text,
      created_at_ms: Date.now(),
    });
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  if (pidfile) fs.writeFileSync(pidfile, process.pid + "\n");
});

function stop() {
  io.close();
  httpServer.close();
  if (pidfile) {
    try {
      fs.unlinkSync(pidfile);
    } catch (e) {
      // gone already
    }
  }
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
