// The empty-canvas hint: while the open flow has no card at all (a new bot: only Start and
// End), a line on the canvas says where cards come from. It goes with the first card and
// comes back if the builder removes them all, or opens another empty flow.

export const EMPTY_CANVAS_HINT = 'Drag a card from the tray onto a node, or right-click the canvas to add a node.';

export function flowHasCards(store) {
  return store.nodes().some((node) => store.cards(node).length > 0);
}

export function installEmptyCanvasHint(store, wrap) {
  const hint = document.createElement('div');
  hint.className = 'fs-canvas-hint';
  hint.dataset.testid = 'empty-canvas-hint';
  hint.setAttribute('role', 'note');
  hint.textContent = EMPTY_CANVAS_HINT;
  wrap.appendChild(hint);
  const update = () => { hint.hidden = store.readOnly || flowHasCards(store); };
  store.addEventListener('change', update);
  update();
  return hint;
}
