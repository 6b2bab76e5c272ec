(() => {
  const form = document.getElementById("passkey-create");
  const button = document.getElementById("passkey-create-button");
  const pkc = window.PublicKeyCredential;
  if (!form || !button || !pkc || !pkc.parseCreationOptionsFromJSON) return;
  button.addEventListener("click", () => {
    const publicKey = pkc.parseCreationOptionsFromJSON(JSON.parse(form.dataset.options));
    navigator.credentials.create({ publicKey }).then((credential) => {
      form.elements.credential.value = JSON.stringify(credential.toJSON());
      form.submit();
    }, () => {});
  });
})();
