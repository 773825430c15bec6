// `/`: every building of the site, with its headcount, rooms over limit and active alerts.
"use strict";

(() => {
  const { el, follow, session, account } = Board;
  const list = document.getElementById("buildings");

  function render(buildings) {
    list.replaceChildren(
      ...buildings.map((b) =>
        el(
          "li",
          { dataset: { building: b.building } },
          el("a", { href: "/building/" + encodeURIComponent(b.building) }, b.name),
          el(
            "div",
            { class: "facts" },
            `${b.building} · ${b.rooms} rooms · ${b.headcount} people in · ` +
              (b.checked_in === null || b.checked_in === undefined ? "" : `${b.checked_in} checked in · `),
            el(
              "span",
              { class: b.rooms_over_limit ? "alarm" : "" },
              `${b.rooms_over_limit} over limit`,
            ),
            " · ",
            el("span", { class: b.active_alerts ? "alarm" : "" }, `${b.active_alerts} active alerts`),
          ),
        ),
      ),
    );
  }

  session().then((me) => {
    account(me, document.getElementById("account"));
    follow("/api/events", "buildings", render, document.getElementById("connection"));
  });
})();
