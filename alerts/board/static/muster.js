// `/muster/{building}`: who is in the building now by the kiosk taps, to print for an
// evacuation's roll call; fetched again every few seconds until printed.
"use strict";

(async () => {
  const { el, time, pathArgs, session } = Board;
  const [building] = pathArgs("/muster/");
  await session(); // the login page first, when there is no session: the list names people
  const REFRESH_MS = 5000;
  document.getElementById("attendance-link").href = "/attendance/" + encodeURIComponent(building);
  document.getElementById("print").addEventListener("click", () => window.print());

  function render(view) {
    document.title = `Muster list — ${view.name}`;
    document.getElementById("title").textContent = `Muster list — ${view.name}: ${view.count} in`;
    document.getElementById("stamp").textContent =
      `As of ${view.ts.slice(0, 10)} ${time(view.ts, view.timezone)} (${view.timezone}), ` +
      `${view.count} people checked in and not out.`;
    const withId = view.people.some((p) => p.employee);
    document.getElementById("people").replaceChildren(
      el("thead", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, "who"),
        ...(withId ? [el("th", {}, "id")] : []), el("th", {}, "unit"), el("th", {}, "since"),
        el("th", {}, "accounted for"))),
      el("tbody", {}, ...view.people.map((p, n) => el("tr", {},
        el("td", {}, n + 1), el("td", {}, p.who), ...(withId ? [el("td", {}, p.employee)] : []),
        el("td", {}, p.unit), el("td", {}, time(p.since, view.timezone)),
        el("td", { class: "tick" }, "☐")))),
    );
  }

  async function load() {
    try {
      const answer = await fetch(`/api/muster/${encodeURIComponent(building)}`);
      if (answer.ok) render(await answer.json());
    } finally {
      setTimeout(load, REFRESH_MS);
    }
  }
  load();
})();
