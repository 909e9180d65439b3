// Small modal dialogs (forms, confirmations) and toasts, built on <dialog>.

import { escapeHtml } from './cards.js';

/**
 * form({title, fields: [{name, label, type, value, options, hint, placeholder}], submit,
 *       validate(values) -> {field: message} | null, danger}) -> Promise<values | null>
 */
export function form({ title, intro = '', fields, submit = 'OK', validate = null, danger = false, wide = false }) {
  return new Promise((resolve) => {
    const dialog = document.createElement('dialog');
    dialog.className = `fs-dialog${wide ? ' wide' : ''}`;
    const body = fields.map((f) => {
      const id = `fs-dlg-${f.name}`;
      let control;
      if (f.type === 'select') {
        control = `<select id="${id}" name="${f.name}" class="fs-input">${f.options.map(([value, label]) => `<option value="${escapeHtml(value)}"${value === f.value ? ' selected' : ''}>${escapeHtml(label)}</option>`).join('')}</select>`;
      } else if (f.type === 'textarea') {
        control = `<textarea id="${id}" name="${f.name}" class="fs-input" rows="${f.rows || 3}" placeholder="${escapeHtml(f.placeholder || '')}">${escapeHtml(f.value || '')}</textarea>`;
      } else if (f.type === 'checkbox') {
        control = `<input type="checkbox" id="${id}" name="${f.name}"${f.value ? ' checked' : ''}>`;
      } else if (f.type === 'file') {
        control = `<input type="file" id="${id}" name="${f.name}" accept="${escapeHtml(f.accept || '')}">`;
      } else if (f.type === 'html') {
        return `<div class="fs-dialog-html">${f.html}</div>`;
      } else {
        control = `<input type="text" id="${id}" name="${f.name}" class="fs-input" value="${escapeHtml(f.value || '')}" placeholder="${escapeHtml(f.placeholder || '')}" autocomplete="off" spellcheck="false">`;
      }
      return `<div class="fs-field${f.type === 'checkbox' ? ' fs-field-inline' : ''}" data-dialog-field="${f.name}"${f.showWhen ? ' hidden' : ''}>`
        + `<label for="${id}">${escapeHtml(f.label)}</label><div class="fs-field-control">${control}</div>`
        + (f.hint ? `<div class="fs-field-hint">${escapeHtml(f.hint)}</div>` : '')
        + '<div class="fs-field-error" role="alert"></div></div>';
    }).join('');
    dialog.innerHTML = `<form method="dialog" class="fs-form"><h2>${escapeHtml(title)}</h2>${intro ? `<div class="fs-dialog-intro">${intro}</div>` : ''}${body}`
      + `<div class="fs-dialog-error" role="alert"></div><div class="fs-form-actions"><button type="button" class="fs-button" value="cancel">Cancel</button>`
      + `<button type="submit" class="fs-button ${danger ? 'danger' : 'primary'}" value="ok">${escapeHtml(submit)}</button></div></form>`;
    document.body.append(dialog);
    const formEl = dialog.querySelector('form');
    const values = () => {
      const out = {};
      for (const f of fields) {
        if (f.type === 'html') continue;
        // namedItem: `elements.item` (or `.length`) is the collection's own, not a field named so.
        const el = formEl.elements.namedItem(f.name);
        out[f.name] = f.type === 'checkbox' ? el.checked : (f.type === 'file' ? el.files[0] : el.value);
      }
      return out;
    };
    const applyVisibility = () => {
      const v = values();
      for (const f of fields) {
        if (!f.showWhen) continue;
        formEl.querySelector(`[data-dialog-field="${f.name}"]`).hidden = !f.showWhen(v);
      }
    };
    formEl.addEventListener('input', applyVisibility);
    formEl.addEventListener('change', applyVisibility);
    applyVisibility();
    const finish = (result) => {
      dialog.close();
      dialog.remove();
      resolve(result);
    };
    formEl.querySelector('button[value=cancel]').addEventListener('click', () => finish(null));
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); finish(null); });
    formEl.addEventListener('submit', async (e) => {
      e.preventDefault();
      const v = values();
      formEl.querySelectorAll('.fs-field-error').forEach((el) => { el.textContent = ''; });
      const errors = validate ? await validate(v) : null;
      if (errors && Object.keys(errors).length) {
        for (const [name, message] of Object.entries(errors)) {
          const el = formEl.querySelector(`[data-dialog-field="${name}"] .fs-field-error`) || formEl.querySelector('.fs-dialog-error');
          el.textContent = message;
        }
        return;
      }
      finish(v);
    });
    dialog.showModal();
    const first = formEl.querySelector('input:not([type=checkbox]), textarea, select');
    if (first) { first.focus(); if (first.select) first.select(); }
  });
}

export async function confirm({ title, message, submit = 'OK', danger = false }) {
  const result = await form({ title, intro: message, fields: [], submit, danger });
  return result !== null;
}

let toastBox;
export function toast(message, kind = 'info', ms = 4000) {
  if (!toastBox) {
    toastBox = document.createElement('div');
    toastBox.className = 'fs-toasts';
    toastBox.setAttribute('role', 'status');
    document.body.append(toastBox);
  }
  const el = document.createElement('div');
  el.className = `fs-toast ${kind}`;
  el.textContent = message;
  toastBox.append(el);
  setTimeout(() => el.remove(), ms);
}

/** A menu of actions at a point: items [{label, action, disabled, danger}] */
export function contextMenu(x, y, items) {
  document.querySelectorAll('.fs-context-menu').forEach((m) => m.remove());
  const menu = document.createElement('div');
  menu.className = 'fs-context-menu';
  menu.setAttribute('role', 'menu');
  for (const item of items) {
    if (item === '-') { menu.insertAdjacentHTML('beforeend', '<hr>'); continue; }
    const button = document.createElement('button');
    button.type = 'button';
    button.setAttribute('role', 'menuitem');
    button.className = item.danger ? 'danger' : '';
    button.textContent = item.label;
    button.disabled = Boolean(item.disabled);
    button.addEventListener('click', () => { menu.remove(); item.action(); });
    menu.append(button);
  }
  document.body.append(menu);
  const rect = menu.getBoundingClientRect();
  menu.style.left = `${Math.min(x, window.innerWidth - rect.width - 8)}px`;
  menu.style.top = `${Math.min(y, window.innerHeight - rect.height - 8)}px`;
  const close = (e) => {
    if (e.type === 'keydown' && e.key !== 'Escape') return;
    if (e.type === 'mousedown' && menu.contains(e.target)) return;
    menu.remove();
    window.removeEventListener('mousedown', close, true);
    window.removeEventListener('keydown', close, true);
  };
  setTimeout(() => {
    window.addEventListener('mousedown', close, true);
    window.addEventListener('keydown', close, true);
  }, 0);
  menu.querySelector('button:not([disabled])')?.focus();
  return menu;
}
