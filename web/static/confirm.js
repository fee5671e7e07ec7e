// A two-step button for what cannot be undone (end a visit, cancel an
// appointment): the first press asks "press again to …" for a few seconds, the
// second does it. No confirm() dialog: it works the same with a mouse, a
// keyboard or a screen reader, and in tests.

/** How long the button waits for the second press. */
export const ConfirmMs = 5000;

/**
 * Makes button two-step. While it waits for the second press it carries
 * data-confirming and the confirmText.
 * @param {HTMLButtonElement} button
 * @param {{confirmText: () => string, onConfirm: () => void, ms?: number}} opts
 *   confirmText: the words while waiting (read when pressed, so a language switch applies)
 * @returns {() => void} resets the button to its first step
 */
export function twoStep(button, opts) {
  let timer = 0;
  let label = '';
  const reset = () => {
    clearTimeout(timer);
    timer = 0;
    if (button.dataset.confirming) {
      delete button.dataset.confirming;
      button.textContent = label;
    }
  };
  button.addEventListener('click', () => {
    if (button.dataset.confirming) {
      reset();
      opts.onConfirm();
      return;
    }
    label = button.textContent || '';
    button.dataset.confirming = 'true';
    button.textContent = opts.confirmText();
    timer = setTimeout(reset, opts.ms ?? ConfirmMs);
  });
  button.addEventListener('blur', () => {
    // Leaving the button with the keyboard takes the question back; a
    // pointer press keeps focus, so a double click still works.
    if (button.dataset.confirming) setTimeout(() => document.activeElement !== button && reset(), 0);
  });
  return reset;
}
