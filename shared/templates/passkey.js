(() => {
  const form = document.getElementById("passkey-form");
  const button = document.getElementById("passkey-button");
  const pkc = window.PublicKeyCredential;
  if (!form || !button || !pkc || !pkc.parseRequestOptionsFromJSON) return;
  const options = () => pkc.parseRequestOptionsFromJSON(JSON.parse(form.dataset.options));
  const send = (credential) => {
    form.elements.credential.value = JSON.stringify(credential.toJSON());
    form.submit();
  };
  let autofill = null;
  button.hidden = false;
  button.addEventListener("click", () => {
    if (autofill) autofill.abort();
    navigator.credentials.get({ publicKey: options() }).then(send, () => {});
  });
  if (pkc.isConditionalMediationAvailable) {
    pkc.isConditionalMediationAvailable().then((available) => {
      if (!available) return;
      autofill = new AbortController();
      navigator.credentials
        .get({ publicKey: options(), mediation: "conditional", signal: autofill.signal })
        .then(send, () => {});
    });
  }
})();
