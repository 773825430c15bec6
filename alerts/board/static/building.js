// `/building/{building}`: every room against its limit, the building at a glance, and the
// active alerts with an acknowledge button; redrawn from each server-sent event in place.
"use strict";

(() => {
  const { el, time, follow, pathArgs } = Board;
  const [building] = pathArgs("/building/");
  const byInput = document.getElementById("ack-by");
  const roomCards = new Map(); // room id → its card, kept across events
  const alertItems = new Map(); // alert id → its list item
  const sending = new Map(); // alert id → "sending" | "sent" | an error text
  let current = null;

  byInput.value = localStorage.getItem("occupancy.ack-by") || "security";
  byInput.addEventListener("change", () => localStorage.setItem("occupancy.ack-by", byInput.value));

  function figure(label, value, alarm) {
    return el("div", { class: "figure" + (alarm ? " alarm" : "") },
      el("span", { class: "value" }, value), el("span", { class: "label" }, label));
  }

  function renderSummary(view) {
    const over = view.summary.rooms_over_limit;
    const names = over.map((id) => (view.rooms.find((r) => r.room === id) || { name: id }).name);
    document.getElementById("summary").replaceChildren(
      figure("people in", view.summary.headcount, false),
      ...(view.checked_in === null || view.checked_in === undefined ? [] : [
        figure(`checked in (${view.planned_wfo} planned in the office)`, view.checked_in, false),
      ]),
      figure(over.length === 1 ? "room over limit" : "rooms over limit", over.length, over.length > 0),
      figure("active alerts", view.alerts.length, view.alerts.some((a) => a.severity === "critical")),
      figure("policy level", view.level, false),
      ...(names.length ? [figure("over limit now", names.join(", "), true)] : []),
    );
  }

  function roomCard(room) {
    const card = el("article", { class: "room", dataset: { room: room.room } },
      el("div", { class: "head" },
        el("span", { class: "name" }, room.name),
        el("a", { href: `/signage/${encodeURIComponent(building)}/${encodeURIComponent(room.room)}` },
          "signage")),
      el("div", { class: "figures" },
        el("span", { class: "count" }), " / ", el("span", { class: "limit" }),
        el("span", { class: "status-label" })),
      el("div", { class: "bar" }, el("div", { class: "fill" })),
      el("div", { class: "free" }));
    return card;
  }

  function updateRoom(card, room) {
    card.className = "room status-" + room.status;
    card.dataset.count = room.count;
    card.dataset.limit = room.limit;
    card.dataset.status = room.status;
    card.querySelector(".count").textContent = room.count;
    card.querySelector(".limit").textContent = room.limit;
    card.querySelector(".status-label").textContent = room.status;
    const share = room.limit > 0 ? Math.min(room.count / room.limit, 1) : 1;
    card.querySelector(".fill").style.width = (share * 100).toFixed(1) + "%";
    const over = room.count - room.limit;
    card.querySelector(".free").textContent =
      (over > 0 ? `${over} over the limit` : `${room.free} free`) + ` · capacity ${room.capacity}` +
      (room.ts ? ` · ${time(room.ts, current.timezone)}` : " · no count yet");
  }

  function renderRooms(view) {
    const floors = document.getElementById("floors");
    if (roomCards.size === 0) {
      const byFloor = new Map();
      for (const room of view.rooms) {
        const key = room.floor === null ? "other" : room.floor;
        if (!byFloor.has(key)) byFloor.set(key, []);
        byFloor.get(key).push(room);
      }
      for (const [floor, rooms] of byFloor) {
        const grid = el("div", { class: "rooms" });
        for (const room of rooms) {
          const card = roomCard(room);
          roomCards.set(room.room, card);
          grid.append(card);
        }
        floors.append(el("section", { class: "floor" },
          el("h3", {}, floor === "other" ? "Other rooms" : `Floor ${floor}`), grid));
      }
    }
    for (const room of view.rooms) {
      const card = roomCards.get(room.room);
      if (card) updateRoom(card, room);
    }
  }

  function alertItem(alert) {
    const button = el("button", { class: "ack-button", type: "button" }, "Acknowledge");
    button.addEventListener("click", () => acknowledge(alert.alert_id));
    return el("li", { class: "alert", dataset: { alertId: alert.alert_id } },
      el("span", { class: "badge" }),
      el("span", { class: "what" }),
      el("span", { class: "ack" }, button, el("span", { class: "acked" }), el("span", { class: "error" })),
      el("span", { class: "message" }),
      el("span", { class: "meta" }));
  }

  function updateAlert(item, alert) {
    const room = alert.room ? current.rooms.find((r) => r.room === alert.room) : null;
    item.className = "alert sev-" + alert.severity;
    item.dataset.severity = alert.severity;
    item.dataset.kind = alert.kind;
    item.dataset.room = alert.room || "";
    item.dataset.acked = alert.ack ? "true" : "false";
    item.querySelector(".badge").textContent = alert.severity;
    item.querySelector(".what").textContent =
      alert.kind.replaceAll("_", " ") + " · " + (room ? room.name : alert.room || "whole building");
    item.querySelector(".message").textContent = alert.message;
    const figures = alert.value !== null && alert.limit !== null ? ` · ${alert.value} of ${alert.limit}` : "";
    item.querySelector(".meta").textContent = `${time(alert.ts, current.timezone)}${figures}`;
    const button = item.querySelector(".ack-button");
    const acked = item.querySelector(".acked");
    const error = item.querySelector(".error");
    const state = sending.get(alert.alert_id);
    if (alert.ack) {
      sending.delete(alert.alert_id);
      button.hidden = true;
      acked.textContent = `Acknowledged by ${alert.ack.by} at ${time(alert.ack.ts, current.timezone)}`;
      error.textContent = "";
    } else {
      button.hidden = false;
      button.disabled = state === "sending" || state === "sent";
      button.textContent = state === "sending" ? "Sending…" : state === "sent" ? "Acknowledging…" : "Acknowledge";
      acked.textContent = "";
      error.textContent = state && state !== "sending" && state !== "sent" ? state : "";
    }
  }

  function renderAlerts(view) {
    const list = document.getElementById("alerts");
    const live = new Set(view.alerts.map((a) => a.alert_id));
    for (const [id, item] of alertItems) {
      if (!live.has(id)) {
        item.remove();
        alertItems.delete(id);
        sending.delete(id);
      }
    }
    view.alerts.forEach((alert, index) => {
      let item = alertItems.get(alert.alert_id);
      if (!item) {
        item = alertItem(alert);
        alertItems.set(alert.alert_id, item);
      }
      updateAlert(item, alert);
      // Move only what is out of place: a button being clicked stays where it is.
      if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
    });
    document.getElementById("no-alerts").hidden = view.alerts.length > 0;
  }

  function render(view) {
    current = view;
    document.title = `${view.name} · occupancy`;
    document.getElementById("title").textContent = view.name;
    document.getElementById("loading").hidden = view.caught_up;
    renderSummary(view);
    renderRooms(view);
    renderAlerts(view);
  }

  async function acknowledge(alertId) {
    sending.set(alertId, "sending");
    render(current);
    const url = `/api/buildings/${encodeURIComponent(building)}/alerts/${encodeURIComponent(alertId)}/ack`;
    try {
      const answer = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ by: byInput.value.trim() || "security" }),
      });
      // Accepted: the ack travels MQTT → bridge → Kafka → worker and returns as an event.
      sending.set(alertId, answer.ok ? "sent" : (await answer.json()).error || `HTTP ${answer.status}`);
    } catch (error) {
      sending.set(alertId, `not sent: ${error}`);
    }
    render(current);
  }

  follow(`/api/buildings/${encodeURIComponent(building)}/events`, "building", render,
    document.getElementById("connection"));
})();
