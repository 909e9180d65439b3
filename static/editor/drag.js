// Dragging cards with the mouse: from the tray into a node, within a node to reorder, and
// from one node to another; and nodes from the tray onto the canvas. Plain mouse events (not HTML5 drag and drop) so the drop point
// is exact and a drop onto the X6 canvas can be resolved to a node and a position.

import { insertCard, moveCard } from './canvas.js';

const THRESHOLD = 4;

export class CardDrag {
  constructor(store, canvas) {
    this.store = store;
    this.canvas = canvas;
    this.ghost = document.createElement('div');
    this.ghost.className = 'fs-drag-ghost';
    this.line = document.createElement('div');
    this.line.className = 'fs-drop-line';
    document.body.append(this.ghost, this.line);
    this.hide();
  }

  hide() {
    this.ghost.style.display = 'none';
    this.line.style.display = 'none';
    document.body.classList.remove('fs-dragging');
    document.querySelectorAll('.fs-node.drop-refused').forEach((el) => el.classList.remove('drop-refused'));
  }

  /**
   * Follow the mouse from a mousedown. `make()` returns the card to insert (tray) or null
   * when an existing card `cardId` moves. `onClick` runs when the mouse did not travel.
   */
  start(downEvent, { label, cardId = null, make = null, nodeKind = null, onClick = null }) {
    if (this.store.readOnly) { if (onClick) onClick(); return; }
    const startX = downEvent.clientX;
    const startY = downEvent.clientY;
    let dragging = false;
    const move = (e) => {
      if (!dragging) {
        if (Math.abs(e.clientX - startX) < THRESHOLD && Math.abs(e.clientY - startY) < THRESHOLD) return;
        dragging = true;
        this.ghost.textContent = label;
        this.ghost.style.display = 'block';
        document.body.classList.add('fs-dragging');
      }
      this.ghost.style.left = `${e.clientX + 12}px`;
      this.ghost.style.top = `${e.clientY + 8}px`;
      this.showTarget(this.targetAt(e, cardId, nodeKind));
    };
    const up = (e) => {
      window.removeEventListener('mousemove', move, true);
      window.removeEventListener('mouseup', up, true);
      if (!dragging) { this.hide(); if (onClick) onClick(); return; }
      const target = this.targetAt(e, cardId, nodeKind);
      this.hide();
      if (nodeKind) { if (target && target.blank) this.canvas.addNode(nodeKind, target.x, target.y); return; }
      this.drop(target, { cardId, make });
    };
    window.addEventListener('mousemove', move, true);
    window.addEventListener('mouseup', up, true);
  }

  /** A node from the tray lands on the blank canvas only, never inside another node. */
  targetAt(e, cardId, nodeKind) {
    const target = this.canvas.dropTargetAt(e.clientX, e.clientY, cardId);
    if (!nodeKind || !target || target.blank) return target;
    const element = target.element || document.querySelector(`#fs-canvas .fs-node[data-node="${CSS.escape(target.nodeId)}"]`);
    return { refused: true, nodeId: target.nodeId, element };
  }

  showTarget(target) {
    document.querySelectorAll('.fs-node.drop-refused').forEach((el) => el.classList.remove('drop-refused'));
    if (target && target.line) {
      Object.assign(this.line.style, {
        display: 'block', left: `${target.line.left}px`, top: `${target.line.top}px`, width: `${target.line.width}px`,
      });
    } else {
      this.line.style.display = 'none';
      if (target && target.refused) target.element.classList.add('drop-refused');
    }
  }

  drop(target, { cardId, make }) {
    if (!target || target.refused) return;
    if (target.blank) {
      // Dropped on the canvas: a new node holding the card, as in Botpress.
      const card = make ? make() : null;
      const found = cardId ? this.store.findCard(cardId) : null;
      if (!card && !found) return;
      const nodeId = this.canvas.addNode('standard', target.x, target.y);
      if (!nodeId) return;
      if (card) insertCard(this.store, card, nodeId, 0);
      else moveCard(this.store, cardId, nodeId, 0);
      this.store.select({ nodes: [nodeId], card: card ? card.id : cardId });
      return;
    }
    if (make) {
      const card = make();
      insertCard(this.store, card, target.nodeId, target.index);
      this.store.select({ nodes: [target.nodeId], card: card.id });
    } else if (cardId) {
      moveCard(this.store, cardId, target.nodeId, target.index);
      this.store.select({ nodes: [target.nodeId], card: cardId });
    }
  }
}
