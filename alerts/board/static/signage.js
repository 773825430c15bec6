// `/signage/{building}/{room}`: a tablet at the door says ENTER (green) or PLEASE WAIT (red,
// when the room is full or over its limit), and how many places are free.
"use strict";

(() => {
  const { follow, pathArgs } = Board;
  const [building, roomId] = pathArgs("/signage/");
  const sign = document.getElementById("signage");

  // The room's own public stream: its state and nothing else of the building.
  function render(room) {
    const wait = room.status === "full" || room.status === "over";
    document.title = `${room.name} · ${wait ? "PLEASE WAIT" : "ENTER"}`;
    sign.className = "signage " + (wait ? "wait" : "enter");
    sign.dataset.sign = wait ? "wait" : "enter";
    sign.dataset.status = room.status;
    sign.dataset.count = room.count;
    document.getElementById("room-name").textContent = room.name;
    document.getElementById("word").textContent = wait ? "PLEASE WAIT" : "ENTER";
    document.getElementById("free").textContent = wait
      ? "No places free"
      : `${room.free} ${room.free === 1 ? "place" : "places"} free`;
    document.getElementById("inside").textContent = `${room.count} inside · limit ${room.limit}`;
  }

  follow(`/api/signage/${encodeURIComponent(building)}/${encodeURIComponent(roomId)}/events`, "room", render,
    document.getElementById("connection"));
})();
