// Bring someone along: a relative or an interpreter, invited to the visit by
// SMS or e-mail (POST /api/v1/appointments/{id}/invite). The link goes out
// with the message and is never shown here; the guest waits in the waiting
// room until the clinician admits them. On the clinician's call page, and
// on the patient's page when the clinic allows it.

/**
 * @typedef {object} InviteWords
 * @property {string} title
 * @property {string} role
 * @property {Record<string, string>} roles relative, interpreter
 * @property {string} name
 * @property {string} phone
 * @property {string} email
 * @property {string} language
 * @property {Record<string, string>} languages '' (the clinic's), da, en
 * @property {string} send
 * @property {string} sending
 * @property {string} sent "Invitation to {name} sent by {how}. They wait until you let them in."
 * @property {Record<string, string>} by sms, email
 * @property {string} and
 * @property {string} failed "Not sent: {why}"
 * @property {string} need "Give a mobile number or an e-mail address."
 */

/** @type {{en: InviteWords, da: InviteWords}} */
export const inviteWords = {
  en: {
    title: 'Invite a relative or an interpreter',
    role: 'Who',
    roles: { relative: 'Relative', interpreter: 'Interpreter' },
    name: 'Name',
    phone: 'Mobile number (SMS)',
    email: 'E-mail address',
    language: 'Language of the message',
    languages: { '': "The clinic's", da: 'Danish', en: 'English' },
    send: 'Send invitation',
    sending: 'Sending…',
    sent: 'Invitation to {name} sent by {how}. They wait in the waiting room until they are let in.',
    by: { sms: 'SMS', email: 'e-mail' },
    and: ' and ',
    failed: 'Not sent: {why}',
    need: 'Give a mobile number or an e-mail address.',
  },
  da: {
    title: 'Invitér en pårørende eller en tolk',
    role: 'Hvem',
    roles: { relative: 'Pårørende', interpreter: 'Tolk' },
    name: 'Navn',
    phone: 'Mobilnummer (sms)',
    email: 'E-mailadresse',
    language: 'Beskedens sprog',
    languages: { '': 'Klinikkens', da: 'Dansk', en: 'Engelsk' },
    send: 'Send invitation',
    sending: 'Sender…',
    sent: 'Invitationen til {name} er sendt på {how}. De venter i venteværelset, til de bliver lukket ind.',
    by: { sms: 'sms', email: 'e-mail' },
    and: ' og ',
    failed: 'Ikke sendt: {why}',
    need: 'Skriv et mobilnummer eller en e-mailadresse.',
  },
};

/**
 * @param {string} s
 * @param {Record<string, string>} vars
 */
const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? '');

/**
 * The request body the form's values make, or the words for what is missing.
 * @param {{role: string, name: string, phone: string, email: string, language: string}} v
 * @param {InviteWords} w
 * @returns {{body: object}|{error: string}}
 */
export function inviteBody(v, w) {
  const name = v.name.trim();
  const phone = v.phone.trim();
  const email = v.email.trim();
  if (!phone && !email) return { error: w.need };
  /** @type {Record<string, string>} */
  const body = { role: v.role, name };
  if (phone) body.phone = phone;
  if (email) body.email = email;
  if (v.language) body.language = v.language;
  return { body };
}

/**
 * Builds the form in root (a <details> that opens it).
 * @param {HTMLElement} root
 * @param {{api: import('./api.js').API, appointmentId: string, words: InviteWords}} opts
 */
export function mountInvite(root, opts) {
  const w = opts.words;
  const id = (/** @type {string} */ s) => root.id + '-' + s;
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = w.title;
  summary.dataset.action = 'open-invite';
  const form = document.createElement('form');
  form.className = 'invite-form';
  form.noValidate = true;

  /**
   * @param {string} key
   * @param {string} label
   * @param {HTMLElement} input
   */
  const field = (key, label, input) => {
    const l = document.createElement('label');
    l.htmlFor = id(key);
    l.textContent = label;
    input.id = id(key);
    input.dataset.invite = key;
    const p = document.createElement('p');
    p.className = 'field';
    p.append(l, input);
    form.append(p);
    return input;
  };
  /**
   * @param {Record<string, string>} options
   * @returns {HTMLSelectElement}
   */
  const select = (options) => {
    const s = document.createElement('select');
    for (const [v, text] of Object.entries(options)) s.append(new Option(text, v));
    return s;
  };
  const input = (/** @type {string} */ type, /** @type {string} */ autocomplete) => {
    const i = document.createElement('input');
    i.type = type;
    i.autocomplete = autocomplete;
    return i;
  };
  const role = /** @type {HTMLSelectElement} */ (field('role', w.role, select(w.roles)));
  const name = /** @type {HTMLInputElement} */ (field('name', w.name, input('text', 'off')));
  name.required = true;
  name.maxLength = 100;
  const phone = /** @type {HTMLInputElement} */ (field('phone', w.phone, input('tel', 'off')));
  const email = /** @type {HTMLInputElement} */ (field('email', w.email, input('email', 'off')));
  const lang = /** @type {HTMLSelectElement} */ (field('language', w.language, select(w.languages)));
  const send = document.createElement('button');
  send.type = 'submit';
  send.className = 'btn btn-main';
  send.dataset.action = 'invite-guest';
  send.textContent = w.send;
  const status = document.createElement('p');
  status.className = 'invite-status';
  status.setAttribute('role', 'status');
  form.append(send, status);
  details.append(summary, form);
  root.replaceChildren(details);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const made = inviteBody({ role: role.value, name: name.value, phone: phone.value, email: email.value, language: lang.value }, w);
    if ('error' in made) {
      status.textContent = made.error;
      status.dataset.state = 'invalid';
      return;
    }
    if (!name.value.trim()) {
      name.focus();
      return;
    }
    send.disabled = true;
    status.textContent = w.sending;
    status.dataset.state = 'sending';
    try {
      const res = await opts.api.post(`/api/v1/appointments/${encodeURIComponent(opts.appointmentId)}/invite`, made.body);
      const how = [...new Set((res?.messages || []).map((/** @type {any} */ m) => w.by[m.channel] || m.channel))].join(w.and);
      status.textContent = fill(w.sent, { name: name.value.trim(), how });
      status.dataset.state = 'sent';
      name.value = phone.value = email.value = '';
    } catch (err) {
      status.textContent = fill(w.failed, { why: /** @type {any} */ (err)?.detail || String(err) });
      status.dataset.state = 'failed';
    } finally {
      send.disabled = false;
    }
  });
}
