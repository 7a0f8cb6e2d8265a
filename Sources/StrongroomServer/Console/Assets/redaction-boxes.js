// Boxes drawn over a preview, in the units the vault's redactor takes: an image's pixels or a
// PDF page's points (the SVG's viewBox is that space, from the preview's
// Strongroom-Rectangle-Space header, so a box's attributes are its rectangle). Drag to draw,
// drag a box to move it; from the keyboard, "Add a box" then the arrow keys move it, Shift and
// the arrow keys size it, Delete removes it. Mouse, pen and touch all arrive as pointer events.

const SVG = "http://www.w3.org/2000/svg";

export class BoxEditor {
  /**
   * `svg`: the overlay; `onChange(boxes)`: called after every change with every box of every
   * page, each { x, y, width, height, page }.
   */
  constructor(svg, onChange) {
    this.svg = svg;
    this.onChange = onChange;
    this.boxes = [];
    this.page = 1;
    this.width = 1;
    this.height = 1;
    this.drag = null;
    svg.addEventListener("pointerdown", (event) => this.down(event));
    svg.addEventListener("pointermove", (event) => this.move(event));
    svg.addEventListener("pointerup", (event) => this.up(event));
    svg.addEventListener("pointercancel", () => this.cancel());
  }

  /** Shows `page` of a space `width` x `height` with these boxes (of every page). */
  show(width, height, page, boxes) {
    this.width = width;
    this.height = height;
    this.page = page;
    this.boxes = boxes.map((box) => ({ ...box }));
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.draw();
  }

  /** A point of the pointer event in the space, kept inside it. */
  point(event) {
    const matrix = this.svg.getScreenCTM();
    if (!matrix) return { x: 0, y: 0 };
    const p = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    return { x: clamp(p.x, 0, this.width), y: clamp(p.y, 0, this.height) };
  }

  down(event) {
    if (event.button !== 0) return;
    event.preventDefault();
    const at = this.point(event);
    const index = event.target.dataset ? parseInt(event.target.dataset.index ?? "", 10) : NaN;
    this.svg.setPointerCapture(event.pointerId);
    if (!Number.isNaN(index)) {
      const box = this.boxes[index];
      this.drag = { kind: "move", index, dx: at.x - box.x, dy: at.y - box.y };
    } else {
      this.boxes.push({ x: at.x, y: at.y, width: 0, height: 0, page: this.page });
      this.drag = { kind: "draw", index: this.boxes.length - 1, x: at.x, y: at.y };
    }
    this.draw();
  }

  move(event) {
    if (!this.drag) return;
    const at = this.point(event);
    const box = this.boxes[this.drag.index];
    if (this.drag.kind === "draw") {
      box.x = Math.min(at.x, this.drag.x);
      box.y = Math.min(at.y, this.drag.y);
      box.width = Math.abs(at.x - this.drag.x);
      box.height = Math.abs(at.y - this.drag.y);
    } else {
      box.x = clamp(at.x - this.drag.dx, 0, this.width - box.width);
      box.y = clamp(at.y - this.drag.dy, 0, this.height - box.height);
    }
    this.draw();
  }

  up(event) {
    if (!this.drag) return;
    this.move(event);
    const box = this.boxes[this.drag.index];
    // A click without a drag, or a sliver, is not a box.
    if (this.drag.kind === "draw" && (box.width < this.width / 200 || box.height < this.height / 200)) {
      this.boxes.splice(this.drag.index, 1);
    }
    this.drag = null;
    this.changed();
  }

  cancel() {
    if (this.drag && this.drag.kind === "draw") this.boxes.splice(this.drag.index, 1);
    this.drag = null;
    this.changed();
  }

  /** A box in the middle of the page, focused, for the keyboard. */
  add() {
    this.boxes.push({ x: this.width * 0.35, y: this.height * 0.45, width: this.width * 0.3, height: this.height * 0.08, page: this.page });
    this.changed();
    this.focus(this.boxes.length - 1);
  }

  remove(index) {
    this.boxes.splice(index, 1);
    this.changed();
  }

  focus(index) {
    this.svg.querySelector(`[data-index="${index}"]`)?.focus();
  }

  key(event, index) {
    const box = this.boxes[index];
    const step = Math.max(this.width, this.height) / 100;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      this.remove(index);
      return;
    }
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    if (event.shiftKey) {
      box.width = clamp(box.width + move[0], step, this.width - box.x);
      box.height = clamp(box.height + move[1], step, this.height - box.y);
    } else {
      box.x = clamp(box.x + move[0], 0, this.width - box.width);
      box.y = clamp(box.y + move[1], 0, this.height - box.height);
    }
    this.changed();
    this.focus(index);
  }

  changed() {
    this.draw();
    this.onChange(this.boxes.map((box) => ({ ...box })));
  }

  draw() {
    const rects = [];
    this.boxes.forEach((box, index) => {
      if (box.page !== this.page) return;
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", box.x);
      rect.setAttribute("y", box.y);
      rect.setAttribute("width", Math.max(box.width, 0.5));
      rect.setAttribute("height", Math.max(box.height, 0.5));
      rect.setAttribute("class", "redaction__box");
      rect.setAttribute("tabindex", "0");
      rect.setAttribute("role", "img");
      rect.setAttribute("aria-label", `Box ${index + 1}: arrow keys move it, Shift and arrow keys size it, Delete removes it`);
      rect.dataset.index = String(index);
      rect.addEventListener("keydown", (event) => this.key(event, index));
      rects.push(rect);
    });
    this.svg.replaceChildren(...rects);
  }
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), Math.max(low, high));
}
