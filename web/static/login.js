// The staff sign-in page (/login): user name and password to POST
// /api/v1/login, which sets the session cookie; then on to ?next= (a path on
// this site only) or to the start page of the role: clinicians to their day
// list, schedulers and admins to the calendar. When the clinic signs staff
// in through the region's identity provider (GET /api/v1/login says so),
// that comes first: /auth/login, with the same ?next=. All its words are
// here, in English and Danish.

import { API, APIError } from './api.js';
import { forgetSessionToken, homeFor, pageEnv, safeNext } from './session.js';
import { applyText, pickLang, sentence } from './text.js';

const strings = {
  en: {
    lang: 'en',
    title: 'Sign in – vclinic',
    text: {
      heading: 'Sign in',
      intro: 'For clinic staff. Patients join their video visit from the link in their invitation.',
      username: 'User name',
      password: 'Password',
      submit: 'Sign in',
      idp: "Sign in with the region's login",
      or: 'Or with a user name and password of this clinic:',
    },
    busy: 'Signing in…',
    wrong: 'The user name or the password is wrong.',
    missing: 'Enter your user name and password.',
    network: 'The server could not be reached. Check the network and try again.',
    failed: 'Signing in failed. Try again in a moment.',
  },
  da: {
    lang: 'da',
    title: 'Log ind – vclinic',
    text: {
      heading: 'Log ind',
      intro: 'For klinikkens personale. Patienter deltager i videokonsultationen fra linket i deres invitation.',
      username: 'Brugernavn',
      password: 'Adgangskode',
      submit: 'Log ind',
      idp: 'Log ind med regionens login',
      or: 'Eller med brugernavn og adgangskode til klinikken:',
    },
    busy: 'Logger ind…',
    wrong: 'Brugernavnet eller adgangskoden er forkert.',
    missing: 'Skriv dit brugernavn og din adgangskode.',
    network: 'Serveren kunne ikke nås. Tjek netværket, og prøv igen.',
    failed: 'Login mislykkedes. Prøv igen om lidt.',
  },
};

const t = pickLang(strings);
document.documentElement.lang = t.lang;
document.title = t.title;
applyText(document, t.text);

const form = /** @type {HTMLFormElement} */ (document.getElementById('login'));
const username = /** @type {HTMLInputElement} */ (document.getElementById('username'));
const password = /** @type {HTMLInputElement} */ (document.getElementById('password'));
const submit = /** @type {HTMLButtonElement} */ (document.getElementById('submit'));
const error = /** @type {HTMLElement} */ (document.getElementById('error'));
const api = new API();

// The region's identity provider, when the clinic has one.
api.get('/api/v1/login').then((/** @type {{identityProvider?: string}} */ m) => {
  if (!m || typeof m.identityProvider !== 'string' || !m.identityProvider.startsWith('/')) return;
  const next = safeNext(new URLSearchParams(location.search).get('next'));
  const link = /** @type {HTMLAnchorElement} */ (document.getElementById('idp-link'));
  link.href = m.identityProvider + (next ? '?next=' + encodeURIComponent(next) : '');
  /** @type {HTMLElement} */ (document.getElementById('idp')).hidden = false;
  /** @type {HTMLElement} */ (document.getElementById('or')).hidden = false;
  username.autofocus = false;
}).catch(() => { /* passwords still work */ });

/** @param {string} msg '' hides the message */
function showError(msg) {
  error.textContent = msg;
  error.hidden = !msg;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (submit.disabled) return;
  if (!username.value.trim() || !password.value) {
    showError(t.missing);
    (username.value.trim() ? password : username).focus();
    return;
  }
  showError('');
  submit.disabled = true;
  submit.textContent = t.busy;
  try {
    /** @type {import('./session.js').User} */
    const user = await api.post('/api/v1/login', { username: username.value.trim(), password: password.value });
    // The cookie now says who this is; a token from an earlier link must not.
    forgetSessionToken(pageEnv().storage);
    const next = safeNext(new URLSearchParams(location.search).get('next'));
    location.replace(next || homeFor(user?.role || ''));
    return;
  } catch (err) {
    if (err instanceof APIError && err.status === 401) {
      // The server's words are English; Danish readers get ours.
      showError((t.lang === 'en' && sentence(err.detail)) || t.wrong);
      password.value = '';
      password.focus();
    } else if (err instanceof APIError && err.status === 0) {
      showError(t.network);
    } else {
      showError((err instanceof APIError && sentence(err.detail)) || t.failed);
    }
  }
  submit.disabled = false;
  submit.textContent = t.text.submit;
});
