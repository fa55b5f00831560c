// Failed images page: every replay button asks first (it sends images through the pipeline
// again). A double click that gets past the question sends the page's request key twice, and
// the server replays once.
const form = document.getElementById("replay-form");
if (form) {
  form.addEventListener("submit", function (event) {
    const button = event.submitter;
    const question = button && button.dataset.confirm;
    if (!question) return;
    const model = document.getElementById("replay-model");
    const against = model && model.value ? ` (against ${model.selectedOptions[0].text})` : "";
    if (!window.confirm(question + against)) event.preventDefault();
  });
}
