// panva/oidc-provider as an independent upstream for the federation tests
// (tests/tests/suite/federation_panva.rs): one confidential client, the downstream provider,
// and one user. Production-like defaults otherwise: PKCE required, RFC 9207 `iss` in every
// authorization response (always on in 8.x), scope claims from userinfo only
// (`conformIdTokenClaims`, OIDC Core §5.4), a fresh RS256 key per start. Its development
// sign-in and consent pages (`devInteractions`) stand in for a real login: they take any
// login name as the account id, and only USER's account exists.
//
//   PORT=18091 REDIRECT_URI=http://127.0.0.1:3000/federation/callback node provider.js
//
// With JWKS_URI (the downstream's /federation/jwks), the client authenticates with
// private_key_jwt (RFC 7523) against that key set instead of a secret.
//
// Prints one JSON line on stdout once listening:
//   {"issuer": ..., "port": ..., "client_id": ..., "client_secret": ..., "user": {...}}
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const PORT = Number(process.env.PORT);
const REDIRECT_URI = process.env.REDIRECT_URI;
if (!PORT || !REDIRECT_URI) {
  console.error('PORT and REDIRECT_URI are required');
  process.exit(2);
}
// `localhost`, while the downstream is on 127.0.0.1: two sites, two cookie jars.
const ISSUER = `http://localhost:${PORT}`;
const CLIENT_ID = 'downstream';
const JWKS_URI = process.env.JWKS_URI;
const CLIENT_SECRET = JWKS_URI ? undefined : randomBytes(32).toString('base64url');
const USER = {
  sub: 'carol-248289761001',
  name: 'Carol Panva',
  email: 'carol@upstream.example',
  email_verified: true,
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const provider = new Provider(ISSUER, {
  clients: [{
    client_id: CLIENT_ID,
    ...(JWKS_URI
      ? { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: JWKS_URI }
      : { client_secret: CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_basic' }),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [REDIRECT_URI],
    scope: 'openid profile email',
  }],
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'up-rs256' }] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  async findAccount(_ctx, id) {
    if (id !== USER.sub) return undefined;
    return { accountId: id, async claims() { return USER; } };
  },
  // Short lifetimes, set rather than defaulted (it asks to), of a one-sign-in test.
  ttl: {
    AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Grant: 600, Interaction: 600, Session: 600,
  },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;

provider.listen(PORT, '127.0.0.1', () => {
  console.log(JSON.stringify({
    issuer: ISSUER,
    port: PORT,
    node: process.version,
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    user: USER,
  }));
});
