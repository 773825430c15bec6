// `/login`: name and password; back to the page that sent us here once the board accepts them.
"use strict";

(() => {
  const form = document.getElementById("login");
  const error = document.getElementById("error");

  function next() {
    const target = new URLSearchParams(location.search).get("next") || "/";
    // Only a path of this board: never off to another site.
    return target.startsWith("/") && !target.startsWith("//") ? target : "/";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const answer = await fetch("/api/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        name: document.getElementById("name").value.trim(),
        password: document.getElementById("password").value,
      }),
    });
    if (answer.ok) {
      location.assign(next());
      return;
    }
    const data = await answer.json().catch(() => ({}));
    error.textContent = data.error || `HTTP ${answer.status}`;
  });
})();
