// Adding a passkey on /account.
(function () {
  "use strict";
  var W = window.ManaWebAuthn;
  var form = document.getElementById("passkey-add");
  var status = document.getElementById("passkey-add-status");
  if (!form || !window.PublicKeyCredential) { return; }
  form.classList.remove("hidden");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    var options = await W.postJSON(form.dataset.optionsUrl, {});
    if (!options.ok) { status.textContent = form.dataset.failed; return; }
    var credential;
    try {
      credential = await navigator.credentials.create({ publicKey: W.creationOptions(options.data) });
    } catch (error) {
      status.textContent = form.dataset.cancelled;
      return;
    }
    var name = form.querySelector("input[name=name]").value;
    var result = await W.postJSON(form.dataset.verifyUrl, { response: W.registrationJSON(credential), name: name || undefined });
    if (result.ok) { window.location.reload(); return; }
    status.textContent = form.dataset.failed;
  });
})();
