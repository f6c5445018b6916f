// "Copy" beside a read-only field (the employee's personal link): copies the field's
// value; where the clipboard is not available (http, old browsers) it selects the text
// so the user can copy it themselves. The button says what happened.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-from]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copyFrom);
  if (!field) return;
  const done = () => { button.textContent = button.dataset.copied; };
  const select = () => { field.focus(); field.select(); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, select);
  } else {
    select();
  }
});
