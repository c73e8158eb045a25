// A real OpenID provider (npm oidc-provider) for mxcp's authorization tests. TEST-ONLY: it
// logs anyone in without a password and has a route that mints arbitrary tokens.
//
//   node op.mjs   prints {"issuer":"http://127.0.0.1:PORT","port":PORT} on stdout once it is
//                 ready, then serves until stdin closes, SIGTERM or SIGINT.
//
// The dependencies live in $MXCP_TEST_OIDC/node_modules (installed by `./dev test`), else next
// to this file. See README.md for the endpoints and the /test/* routes.
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// oidc-provider prints notices with console.info; stdout carries only the ready line.
for (const level of ['log', 'info', 'debug']) console[level] = console.error.bind(console);

// Bare ESM imports resolve next to this file, not next to node_modules elsewhere: resolve
// the packages from the install directory and import them by file URL.
const depsDir = process.env.MXCP_TEST_OIDC || dirname(fileURLToPath(import.meta.url));
const requireFromDeps = createRequire(join(depsDir, 'package.json'));
async function load(name) {
  let path;
  try {
    path = requireFromDeps.resolve(name);
  } catch {
    console.error(`op.mjs: cannot find ${name} in ${depsDir}/node_modules: set MXCP_TEST_OIDC to the directory `
      + '`./dev test` installs it into, or run `npm ci` in tests/oidc');
    process.exit(2);
  }
  return import(pathToFileURL(path).href);
}
const { default: Provider, errors } = await load('oidc-provider');
const jose = await load('jose');

// ---- accounts (no passwords: the interaction route logs in as login_hint)
const ACCOUNTS = {
  alice: {
    email: 'alice@example.com', email_verified: true, name: 'Alice Example',
    preferred_username: 'alice', groups: ['analysts'], realm_access: { roles: ['reader', 'writer'] },
  },
  bob: { email: 'bob@example.com', email_verified: true, name: 'Bob Example', preferred_username: 'bob', groups: [] },
};
// the claims that go into access tokens (and opaque tokens' introspection) of an account
const TOKEN_CLAIMS = ['email', 'name', 'preferred_username', 'groups', 'realm_access'];

// ---- keys: generated per run, private parts never leave this process
async function rsaKey(kidPrefix) {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const pub = await jose.exportJWK(publicKey);
  const kid = `${kidPrefix}-${(await jose.calculateJwkThumbprint(pub)).slice(0, 16)}`;
  return { kid, alg: 'RS256', privateKey, publicKey, pub: { ...pub, kid, alg: 'RS256', use: 'sig' } };
}
async function ecKey() {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const pub = await jose.exportJWK(publicKey);
  const kid = `ec-${(await jose.calculateJwkThumbprint(pub)).slice(0, 16)}`;
  return { kid, alg: 'ES256', privateKey, publicKey, pub: { ...pub, kid, alg: 'ES256', use: 'sig' } };
}
const opRsa = await rsaKey('rsa');
const opEc = await ecKey();
const foreign = await rsaKey('foreign'); // never published
const rotated = []; // keys added by POST /test/rotate, newest last
let servedRsa = [opRsa]; // the RSA keys /jwks publishes (rotate with replace drops the others)
const servedJwks = () => ({ keys: [...servedRsa, opEc].map((k) => k.pub) });
const privateJwk = async (k) => ({ ...(await jose.exportJWK(k.privateKey)), kid: k.kid, alg: k.alg, use: 'sig' });

// ---- resource servers: any loopback URL; a path ending in /opaque gets opaque tokens
function resourceServerInfo(resource) {
  if (!/^http:\/\/(127\.0\.0\.1|localhost):/.test(resource)) {
    throw new errors.InvalidTarget('only http://127.0.0.1:* and http://localhost:* resources are served');
  }
  const opaque = new URL(resource).pathname.endsWith('/opaque');
  return {
    scope: 'mcp:tools mcp:admin openid',
    audience: resource,
    accessTokenTTL: 300,
    ...(opaque ? { accessTokenFormat: 'opaque' } : { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
  };
}

const configuration = {
  clients: [
    {
      client_id: 'mxcp-test',
      client_secret: 'mxcp-test-secret',
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
      // native: a loopback redirect URI matches on any port (RFC 8252 7.3)
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      response_types: ['code'],
      scope: 'openid email profile offline_access mcp:tools mcp:admin',
    },
    {
      // the same client authenticating with client_secret_post (secret in the form body)
      client_id: 'mxcp-test-post',
      client_secret: 'mxcp-test-post-secret',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      response_types: ['code'],
      scope: 'openid email profile offline_access mcp:tools mcp:admin',
    },
    // a resource server: it only authenticates to introspect (and revoke) tokens
    { client_id: 'mxcp-server', client_secret: 'mxcp-server-secret', grant_types: [], redirect_uris: [], response_types: [] },
  ],
  jwks: { keys: [await privateJwk(opRsa), await privateJwk(opEc)] },
  scopes: ['openid', 'offline_access', 'mcp:tools', 'mcp:admin'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  async findAccount(_ctx, sub) {
    const account = ACCOUNTS[sub];
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...account }) };
  },
  async extraTokenClaims(_ctx, token) {
    const account = token.accountId && ACCOUNTS[token.accountId];
    if (!account) return undefined; // client_credentials: sub is the client id
    return Object.fromEntries(TOKEN_CLAIMS.filter((c) => c in account).map((c) => [c, account[c]]));
  },
  features: {
    devInteractions: { enabled: false }, // replaced by the auto-completing route below
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    revocation: { enabled: true, allowedPolicy: async () => true },
    registration: { enabled: true, initialAccessToken: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf || undefined,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => resourceServerInfo(resource),
    },
  },
  pkce: { required: () => true }, // S256 is the only method oidc-provider 9 offers
  // every client allowed the refresh_token grant gets one with an authorization code
  issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.kind === 'AuthorizationCode',
  clientBasedCORS: () => true,
  ttl: { AccessToken: 300, AuthorizationCode: 60, ClientCredentials: 300, IdToken: 300, Interaction: 300, Session: 600, Grant: 600, RefreshToken: 3600 },
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
};

// ---- HTTP: listen first (port 0), then build the provider for the issuer on that port
const server = createServer();
await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, err) => console.error('oidc server_error:', err));
const stats = { discovery: 0, jwks: 0, introspection: 0, token: 0 };

// cookies by uid: the flow works for a client without a cookie jar, and each authorization
// request logs in anew (login_hint decides the account; no session carries over)
function rewriteCookies(ctx) {
  const m = ctx.path.match(/^\/(auth|interaction)(?:\/([\w-]+))?$/);
  if (!m) return;
  const kept = (ctx.get('cookie') || '').split(/;\s*/).filter((c) => c && !c.startsWith('_session'));
  const [, route, uid] = m;
  const name = route === 'auth' ? '_interaction_resume' : '_interaction';
  if (uid && !kept.some((c) => c.startsWith(`${name}=`))) kept.push(`${name}=${uid}`);
  ctx.req.headers.cookie = kept.join('; ');
}

// completes login (account = login_hint, default alice) and consent (everything asked) at once
async function autoInteraction(ctx) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { params } = details;
  const accountId = params.login_hint || 'alice';
  let result;
  if (!ACCOUNTS[accountId]) {
    result = { error: 'access_denied', error_description: `unknown test account ${accountId}` };
  } else {
    // a new grant each time: rewriteCookies() leaves no session to carry an old one
    const grant = new provider.Grant({ accountId, clientId: params.client_id });
    const scope = params.scope || '';
    grant.addOIDCScope(scope);
    const resources = [params.resource].flat().filter(Boolean);
    for (const resource of resources) grant.addResourceScope(resource, scope);
    const grantId = await grant.save();
    result = { login: { accountId }, consent: { grantId } };
  }
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

async function jsonBody(ctx) {
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > 1 << 20) ctx.throw(413, 'body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return ctx.throw(400, 'body is not JSON');
  }
}

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

// TEST-ONLY: signs whatever claims a test asks for, with good, foreign and forged keys
async function mint(body) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: issuer, iat: now, exp: now + 300, jti: crypto.randomUUID(), ...(body.claims || {}) };
  const kind = body.key || 'op';
  const header = { typ: 'JWT', ...(body.header || {}) };
  // a null member in claims or header removes it (e.g. "exp": null for a token without exp)
  const prune = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
  const sign = (key, alg, kid) => new jose.SignJWT(prune(claims))
    .setProtectedHeader(prune({ alg, kid, ...header }))
    .sign(key);
  switch (kind) {
    case 'op': return sign(opRsa.privateKey, 'RS256', opRsa.kid);
    case 'op-ec': return sign(opEc.privateKey, 'ES256', opEc.kid);
    case 'op-new': {
      const key = rotated.at(-1);
      if (!key) throw Object.assign(new Error('no rotated key yet: POST /test/rotate first'), { status: 400 });
      return sign(key.privateKey, 'RS256', key.kid);
    }
    case 'foreign': return sign(foreign.privateKey, 'RS256', opRsa.kid); // published kid, wrong key
    case 'foreign-kid': return sign(foreign.privateKey, 'RS256', foreign.kid); // kid nobody publishes
    case 'none': return `${b64url(prune({ alg: 'none', kid: opRsa.kid, ...header }))}.${b64url(prune(claims))}.`;
    case 'hs256-with-public-key': {
      // alg confusion: the published RSA public key (SPKI PEM, or "secret_form": "jwk" for the
      // JWK JSON as /jwks serves it) used as an HMAC secret
      const secret = body.secret_form === 'jwk' ? JSON.stringify(opRsa.pub) : await jose.exportSPKI(opRsa.publicKey);
      return sign(new TextEncoder().encode(secret), 'HS256', opRsa.kid);
    }
    default: throw Object.assign(new Error(`unknown key kind ${kind}`), { status: 400 });
  }
}

// errors of the /test/* routes as JSON (the provider's own routes render their own)
provider.use(async (ctx, next) => {
  try {
    await next();
  } catch (err) {
    if (!ctx.path.startsWith('/test/') || !err.status || err.status >= 500) throw err;
    ctx.status = err.status;
    ctx.body = { error: err.message };
  }
});
provider.use(async (ctx, next) => {
  const route = `${ctx.method} ${ctx.path}`;
  if (route === 'POST /test/mint') {
    ctx.body = { token: await mint(await jsonBody(ctx)) };
    return;
  }
  if (route === 'POST /test/rotate') {
    const body = await jsonBody(ctx);
    const key = await rsaKey('rotated');
    rotated.push(key);
    servedRsa = body.replace ? [key] : [...servedRsa, key];
    ctx.body = { kid: key.kid, served: servedJwks().keys.map((k) => k.kid) };
    return;
  }
  if (route === 'GET /test/stats') {
    ctx.body = stats;
    return;
  }
  if (route === 'GET /jwks') {
    // served from the mutable set (oidc-provider's keystore is fixed at construction)
    stats.jwks += 1;
    ctx.type = 'application/jwk-set+json';
    ctx.body = servedJwks();
    return;
  }
  if (ctx.method === 'GET' && /^\/interaction\/[\w-]+$/.test(ctx.path)) {
    rewriteCookies(ctx);
    await autoInteraction(ctx);
    return;
  }
  rewriteCookies(ctx);
  // RFC 8414 metadata: the same document as OpenID discovery
  if (ctx.path === '/.well-known/oauth-authorization-server') ctx.path = '/.well-known/openid-configuration';
  if (ctx.path === '/.well-known/openid-configuration') stats.discovery += 1;
  if (ctx.path === '/token/introspection') stats.introspection += 1;
  if (ctx.path === '/token') stats.token += 1;
  await next();
});
server.on('request', provider.callback());

// the parent's stdin pipe closing (the test ended or crashed) ends the OP
const stop = () => process.exit(0);
process.stdin.on('end', stop).on('close', stop).on('error', stop).resume();
process.on('SIGTERM', stop).on('SIGINT', stop);

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
