// Queue page: `U` undoes the decision just made (the offer shown after the last task).
import { refreshTokens } from "./lease.js";

document.addEventListener("keydown", function (event) {
  const undo = document.getElementById("undo-form");
  const tag = event.target.tagName;
  if (!undo || event.key !== "U" || event.repeat || ["INPUT", "SELECT", "TEXTAREA"].includes(tag)) return;
  refreshTokens(undo);
  undo.requestSubmit();
  event.preventDefault();
});
