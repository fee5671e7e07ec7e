// The participant list on the call page: each person's name, role and what
// they send, and the waiting room: guests who wait to be let in come first,
// each with an Admit button (<button data-action="admit" data-participant>).

import { StateReconnecting, StateWaiting } from './protocol.js';
import { fill } from './text.js';
import { roleWords } from './tiles.js';

/** @typedef {import('./protocol.js').Participant} Participant */

/**
 * The words the list needs from the page's strings.
 * @typedef {object} RosterStrings
 * @property {string} someone
 * @property {string} you "{name} (you)"
 * @property {string} reconnecting
 * @property {string} micOff
 * @property {string} camOff
 * @property {Record<string, string>} roles
 * @property {string} [inWaitingRoom] "in the waiting room"
 * @property {string} [admit] "Admit"
 * @property {string} [admitLabel] "Admit {name}" for screen readers
 */

/**
 * Waiting guests first, then the others in the server's order.
 * @param {Participant[]} list
 * @returns {Participant[]}
 */
export function rosterOrder(list) {
  const waiting = list.filter((p) => p.state === StateWaiting);
  return [...waiting, ...list.filter((p) => p.state !== StateWaiting)];
}

/**
 * Renders list into ul. Keyboard focus on an Admit button stays on that
 * guest's button when the list is drawn again.
 * @param {HTMLElement} ul
 * @param {RosterStrings} t
 * @param {Participant[]} list
 * @param {string} selfId
 * @param {((participantId: string) => void)|null} onAdmit null: no Admit buttons
 */
export function renderRoster(ul, t, list, selfId, onAdmit) {
  const focused = /** @type {HTMLElement|null} */ (ul.contains(document.activeElement) ? document.activeElement : null);
  const focusId = focused?.dataset.action === 'admit' ? focused.dataset.participant : '';
  ul.replaceChildren(...rosterOrder(list).map((p) => item(t, p, selfId, onAdmit)));
  if (focusId) {
    const again = /** @type {HTMLElement|null} */ (ul.querySelector(`button[data-action="admit"][data-participant="${CSS.escape(focusId)}"]`));
    again?.focus();
  }
}

/**
 * @param {RosterStrings} t
 * @param {Participant} p
 * @param {string} selfId
 * @param {((participantId: string) => void)|null} onAdmit
 * @returns {HTMLLIElement}
 */
function item(t, p, selfId, onAdmit) {
  const li = document.createElement('li');
  li.dataset.participant = p.id;
  li.dataset.role = p.role;
  li.dataset.state = p.state;
  const name = document.createElement('span');
  name.className = 'p-name';
  const who = p.name || t.someone;
  name.textContent = p.id === selfId ? fill(t.you, { name: who }) : who;
  const role = document.createElement('span');
  role.className = 'p-role';
  role.textContent = roleWords(t, p.role);
  const notes = [];
  if (p.state === StateWaiting) notes.push(t.inWaitingRoom || p.state);
  if (p.state === StateReconnecting) notes.push(t.reconnecting);
  if (p.state !== StateWaiting && !p.audio) notes.push(t.micOff);
  if (p.state !== StateWaiting && !p.video) notes.push(t.camOff);
  const state = document.createElement('span');
  state.className = 'p-state';
  state.textContent = notes.join(' · ');
  li.append(name, role, state);
  if (p.state === StateWaiting && onAdmit && p.id !== selfId) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn btn-main btn-admit';
    b.dataset.action = 'admit';
    b.dataset.participant = p.id;
    b.textContent = t.admit || 'Admit';
    b.setAttribute('aria-label', fill(t.admitLabel || '{name}', { name: who }));
    b.addEventListener('click', () => {
      b.disabled = true;
      onAdmit(p.id);
    });
    li.append(b);
  }
  return li;
}
