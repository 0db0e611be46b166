// Passkey sign-in on /login: the button, and autofill through conditional mediation.
(function () {
  "use strict";
  var W = window.ManaWebAuthn;
  var status = document.getElementById("passkey-status");
  var form = document.getElementById("passkey-login");
  if (!form || !window.PublicKeyCredential) { return; }
  var conditionalAbort = null;

  function say(message) { if (status) { status.textContent = message; } }

  async function signIn(mediation) {
    var options = await W.postJSON(form.dataset.optionsUrl, {});
    if (!options.ok) { say(form.dataset.failed); return; }
    var request = { publicKey: W.requestOptions(options.data) };
    if (mediation === "conditional") {
      conditionalAbort = new AbortController();
      request.mediation = "conditional";
      request.signal = conditionalAbort.signal;
    }
    var credential;
    try {
      credential = await navigator.credentials.get(request);
    } catch (error) {
      if (error.name !== "AbortError") { say(form.dataset.cancelled); }
      return;
    }
    var result = await W.postJSON(form.dataset.verifyUrl, { response: W.assertionJSON(credential), next: form.dataset.next });
    if (result.ok && result.data.redirect) { window.location.assign(result.data.redirect); return; }
    say(form.dataset.failed);
  }

  form.classList.remove("hidden");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (conditionalAbort) { conditionalAbort.abort(); }
    signIn("modal");
  });
  // Autofill: the conditional request starts when the person reaches the email field, so a
  // click on the button never races a pending autofill ceremony.
  var email = document.getElementById("email");
  if (email && PublicKeyCredential.isConditionalMediationAvailable) {
    email.addEventListener("focus", function () {
      if (conditionalAbort) { return; }
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available) { signIn("conditional"); }
      });
    });
  }
})();
