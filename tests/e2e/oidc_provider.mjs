// A real OpenID Connect provider (the certified `oidc-provider` package) on loopback, for the sign-in tests.
//
// Usage: node oidc_provider.mjs CONFIG.json
// CONFIG: {"clients": [client metadata ...], "accounts": {"<id>": {"password": "...", claims ...}}}
// Listens on a free loopback port and prints one line of JSON, {"issuer": "http://127.0.0.1:PORT"}, once it
// answers. Its own login page is a plain form (login, password); consent is given with the login.
import http from 'node:http';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts;

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: config.clients,
    async findAccount(ctx, id) {
      const account = accounts[id];
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          const { password, ...claims } = account;
          return { sub: id, ...claims };
        },
      };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    // The claims asked for by scope travel in the ID token too, as Entra ID and Keycloak put them there.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
    },
    cookies: { keys: [config.cookieKey || 'loopback-test-provider-cookie-key'] },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  });

  const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const page = (uid, message) => `<!doctype html><html lang="en"><head><title>Test provider sign-in</title></head>
<body><main><h1>Test provider sign-in</h1>${message ? `<p id="error">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Login</label> <input id="login" name="login" autocomplete="off">
<label for="password">Password</label> <input id="password" name="password" type="password">
<button type="submit">Sign in</button></form></main></body></html>`;

  const readForm = (req) => new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });

  provider.use(async (ctx, next) => {
    const match = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
    if (!match) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = page(details.uid);
      return undefined;
    }
    const form = await readForm(ctx.req);
    const id = form.get('login');
    if (!accounts[id] || accounts[id].password !== form.get('password')) {
      ctx.type = 'html';
      ctx.status = 401;
      ctx.body = page(details.uid, 'Login or password is not right.');
      return undefined;
    }
    const grant = new provider.Grant({ accountId: id, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
      login: { accountId: id },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return undefined;
  });

  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

// The test stops the provider by closing its standard input (or ending the process).
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
