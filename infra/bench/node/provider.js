// panva/oidc-provider configured like our provider, as the throughput baseline
// (infra/bench/throughput.sh). Production-like: default in-memory adapter, no dev
// interactions, a fresh signing key per start, JWT access tokens for client_credentials.
//
//   PORT=18090 ALG=RS256 node provider.js     (ALG: RS256 or ES256)
//
// Prints one JSON line on stdout once listening:
//   {"issuer": ..., "port": ..., "alg": ..., "userinfo_token": ..., "client_id": ..., "client_secret": ...}
// `userinfo_token` is an access token for /me (oidc-provider's userinfo endpoint), created
// programmatically (a Grant + an AccessToken for the account), since we do not drive its login.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const PORT = Number(process.env.PORT || 18090);
const ALG = (process.env.ALG || 'RS256').toUpperCase();
const ISSUER = `http://127.0.0.1:${PORT}`;
const RESOURCE = 'https://api.example.com';
const CLIENT_ID = 'bench-app';
const CLIENT_SECRET = 'bench-app-secret-0123456789abcdef0123456789';
const ACCOUNT_ID = 'bench-user';

function signingKey(alg) {
  const { privateKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `bench-${alg.toLowerCase()}` };
}

if (!['RS256', 'ES256'].includes(ALG)) {
  console.error(`ALG must be RS256 or ES256, not ${ALG}`);
  process.exit(2);
}

const claims = {
  sub: ACCOUNT_ID,
  name: 'Bench User',
  given_name: 'Bench',
  family_name: 'User',
  email: 'bench@example.com',
  email_verified: true,
};

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    redirect_uris: ['https://client.example.com/cb'],
    scope: 'openid profile email offline_access api:read',
    id_token_signed_response_alg: ALG,
  }],
  jwks: { keys: [signingKey(ALG)] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'api:read'],
  async findAccount(_ctx, id) {
    if (id !== ACCOUNT_ID) return undefined;
    return { accountId: id, async claims() { return claims; } };
  },
  // Same lifetimes as ours (600 s access tokens).
  ttl: {
    AccessToken: 600,
    ClientCredentials: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Grant: 14 * 24 * 3600,
    Interaction: 3600,
    Session: 8 * 3600,
    RefreshToken: 14 * 24 * 3600,
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  enabledJWA: {
    idTokenSigningAlgValues: [ALG],
    userinfoSigningAlgValues: [ALG],
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    userinfo: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => {
        if (resourceIndicator !== RESOURCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'api:read',
          audience: RESOURCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: ALG } },
        };
      },
    },
  },
});
provider.proxy = false;

// A user access token for the userinfo endpoint: opaque (no resource, so no audience),
// stored in the in-memory adapter like one from a code exchange.
const client = await provider.Client.find(CLIENT_ID);
const grant = new provider.Grant({ accountId: ACCOUNT_ID, clientId: CLIENT_ID });
grant.addOIDCScope('openid profile email');
const grantId = await grant.save();
const userinfoToken = await new provider.AccessToken({
  accountId: ACCOUNT_ID,
  client,
  grantId,
  gty: 'authorization_code',
  scope: 'openid profile email',
}).save();

provider.listen(PORT, '127.0.0.1', () => {
  console.log(JSON.stringify({
    issuer: ISSUER,
    port: PORT,
    alg: ALG,
    node: process.version,
    userinfo_token: userinfoToken,
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    paths: { discovery: '/.well-known/openid-configuration', jwks: '/jwks', userinfo: '/me', token: '/token' },
  }));
});
