// `/attendance/{building}`: today's days per unit, who is late so far, and the week's
// present against planned; redrawn from each server-sent event.
"use strict";

(async () => {
  const { el, time, follow, pathArgs, session } = Board;
  const [building] = pathArgs("/attendance/");
  await session(); // the login page first, when there is no session: the page names people
  const labels = {
    on_time: "on time", late: "late", early_leave: "early leave", half_day: "half day",
    absent: "absent", auto_closed: "no check-out", unscheduled: "unscheduled", wfh: "WFH",
    holiday: "holiday", not_in_yet: "not in yet",
  };
  document.getElementById("building-link").href = "/building/" + encodeURIComponent(building);
  document.getElementById("muster-link").href = "/muster/" + encodeURIComponent(building);

  function figure(label, value) {
    return el("div", { class: "figure" },
      el("span", { class: "value" }, value), el("span", { class: "label" }, label));
  }

  function unitRow(unit, cls) {
    return el("tr", { class: cls || "", dataset: { unit: unit.unit } },
      el("th", { scope: "row" }, unit.unit),
      el("td", {}, unit.employees), el("td", {}, unit.planned_wfo), el("td", {}, unit.present),
      ...Object.keys(labels).map((s) =>
        el("td", { class: unit.statuses[s] && (s === "late" || s === "absent") ? "alarm" : "" },
          unit.statuses[s])));
  }

  function render(view) {
    document.title = `Attendance — ${view.name}`;
    document.getElementById("title").textContent = `Attendance — ${view.name} — ${view.date}`;
    document.getElementById("loading").hidden = view.caught_up;
    const t = view.total;
    document.getElementById("summary").replaceChildren(
      figure("planned in the office", t.planned_wfo),
      figure("came in", t.present),
      figure("late so far", view.late.length),
      figure("not in yet", t.statuses.not_in_yet),
      figure("working from home", t.statuses.wfh),
    );
    document.getElementById("units").replaceChildren(
      el("thead", {}, el("tr", {},
        el("th", {}, "unit"), el("th", {}, "employees"), el("th", {}, "planned"),
        el("th", {}, "came in"), ...Object.values(labels).map((l) => el("th", {}, l)))),
      el("tbody", {}, ...view.units.map((u) => unitRow(u)), unitRow(t, "total")),
    );
    const top = Math.max(1, ...view.week.map((d) => Math.max(d.planned_wfo, d.present)));
    document.getElementById("week").replaceChildren(
      ...view.week.map((d) => {
        const planned = el("div", { class: "bar planned", title: `${d.planned_wfo} planned` });
        const present = el("div", { class: "bar present", title: `${d.present} came in` });
        planned.style.height = (100 * d.planned_wfo / top).toFixed(1) + "%";
        present.style.height = (100 * d.present / top).toFixed(1) + "%";
        const weekday = new Date(d.date + "T12:00:00Z").toLocaleDateString("en-GB",
          { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
        return el("div", { class: "day", dataset: { date: d.date } },
          el("div", { class: "bars" }, planned, present),
          el("div", { class: "figures" }, `${d.present} / ${d.planned_wfo}`),
          el("div", { class: "label" }, weekday));
      }),
      el("div", { class: "legend" },
        el("span", { class: "key planned" }), "planned  ", el("span", { class: "key present" }),
        "came in"),
    );
    document.getElementById("no-late").hidden = view.late.length > 0;
    document.getElementById("late").replaceChildren(
      ...(view.late.length ? [el("thead", {}, el("tr", {},
        el("th", {}, view.names ? "name" : "pseudonym"), el("th", {}, "unit"),
        el("th", {}, "minutes late"), el("th", {}, "checked in")))] : []),
      el("tbody", {}, ...view.late.map((l) => el("tr", {},
        el("td", {}, l.who), el("td", {}, l.unit), el("td", {}, l.minutes),
        el("td", {}, time(l.first_check_in, view.timezone))))),
    );
  }

  follow(`/api/attendance/${encodeURIComponent(building)}/events`, "attendance", render,
    document.getElementById("connection"));
})();
