// The two drawings of the body map as SVG: the vault's outline, marks, the area being drawn,
// and a cross that the arrow keys move. A click or Enter reports a place through
// `onPlace(side, x, y)`, x and y as fractions of the frame.
import { nearest } from "./body-map-outline.js";

const svgNS = "http://www.w3.org/2000/svg";
// The frame's width in SVG units; its height follows from the outline's aspect.
const WIDTH = 200;

function element(name, attributes = {}, parent = null) {
  const node = document.createElementNS(svgNS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (parent) parent.append(node);
  return node;
}

function sideName(side) {
  return side === "front" ? "front" : "back";
}

/** A mark's radius on the drawing, from its size (1 to 5). */
function radius(size) {
  return 2 + 2 * size;
}

function pathData(points, closed, height) {
  return "M" + points.map(([x, y]) => `${x * WIDTH} ${y * height}`).join(" L") + (closed ? " Z" : "");
}

export class Drawings {
  constructor(containers, outline, { onPlace, onCross }) {
    this.views = {};
    this.outline = outline;
    this.height = WIDTH / outline.aspect;
    this.onPlace = onPlace;
    this.onCross = onCross;
    for (const container of containers) this.build(container);
  }

  build(container) {
    const side = container.dataset.side;
    const HEIGHT = this.height;
    const svg = element("svg", {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "body-map__svg", tabindex: 0, role: "application",
      "aria-label": `Drawing of the ${sideName(side)} of the body. Arrow keys move the cross; Enter marks where it is.`,
      "aria-describedby": "place-instructions",
    });
    for (const { points, closed } of this.outline[side] || []) {
      element("path", { d: pathData(points, closed, HEIGHT), class: closed ? "body-map__outline" : "body-map__detail" }, svg);
    }
    const labelY = HEIGHT - 2;
    const [leftWord, rightWord] = side === "front" ? ["Right", "Left"] : ["Left", "Right"];
    element("text", { x: 4, y: labelY, class: "body-map__side-label" }, svg).textContent = leftWord;
    element("text", { x: WIDTH - 4, y: labelY, class: "body-map__side-label body-map__side-label--end" }, svg).textContent = rightWord;
    const marks = element("g", {}, svg);
    const pending = element("g", {}, svg);
    const cross = element("g", { class: "body-map__cross", visibility: "hidden" }, svg);
    element("circle", { r: 7, cx: 0, cy: 0, class: "body-map__cross-ring" }, cross);
    element("path", { d: "M-12 0 L-3 0 M3 0 L12 0 M0 -12 L0 -3 M0 3 L0 12", class: "body-map__cross-lines" }, cross);
    container.append(svg);
    const view = { side, svg, marks, pending, cross, at: { x: WIDTH / 2, y: 150 } };
    this.views[side] = view;

    svg.addEventListener("click", (event) => {
      const point = this.toBox(svg, event.clientX, event.clientY);
      if (point) this.onPlace(side, point.x / WIDTH, point.y / HEIGHT);
    });
    // The cross is for the keyboard: a click focuses the drawing too, but shows no cross.
    svg.addEventListener("focus", () => {
      if (svg.matches(":focus-visible")) this.showCross(view);
    });
    svg.addEventListener("blur", () => cross.setAttribute("visibility", "hidden"));
    svg.addEventListener("keydown", (event) => this.key(view, event));
  }

  toBox(svg, clientX, clientY) {
    const matrix = svg.getScreenCTM();
    if (!matrix) return null;
    const point = new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
    if (point.x < 0 || point.y < 0 || point.x > WIDTH || point.y > this.height) return null;
    return { x: point.x, y: point.y };
  }

  showCross(view) {
    view.cross.setAttribute("transform", `translate(${view.at.x} ${view.at.y})`);
    view.cross.setAttribute("visibility", "visible");
    this.onCross(view.side, nearest(view.side, view.at.x / WIDTH, view.at.y / this.height, this.outline.aspect));
  }

  key(view, event) {
    const step = event.shiftKey ? 20 : 4;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[event.key]) {
      event.preventDefault();
      const [dx, dy] = moves[event.key];
      view.at = { x: Math.min(WIDTH, Math.max(0, view.at.x + dx)), y: Math.min(this.height, Math.max(0, view.at.y + dy)) };
      this.showCross(view);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      this.onPlace(view.side, view.at.x / WIDTH, view.at.y / this.height);
    }
  }

  /** Draws the marks (each numbered, as the table numbers them) and the place being chosen. */
  draw(marks, pending) {
    for (const view of Object.values(this.views)) {
      view.marks.replaceChildren();
      view.pending.replaceChildren();
    }
    marks.forEach((mark, index) => {
      const view = this.views[mark.side];
      const points = mark.points.map(([fx, fy]) => [fx * WIDTH, fy * this.height]);
      const group = element("g", { class: `body-map__mark mark--${mark.colour}` }, view.marks);
      if (mark.shape === "point") {
        element("circle", { cx: points[0][0], cy: points[0][1], r: radius(mark.size), class: "body-map__point" }, group);
      } else {
        element("polygon", { points: points.map((p) => p.join(",")).join(" "), class: "body-map__area" }, group);
      }
      const [lx, ly] = labelAt(points);
      element("text", { x: lx + radius(mark.size) + 2, y: ly + 4, class: "body-map__number" }, group).textContent = String(index + 1);
    });
    if (pending) {
      const view = this.views[pending.side];
      const points = pending.points.map(([fx, fy]) => [fx * WIDTH, fy * this.height]);
      if (pending.shape === "area" && points.length > 1) {
        const shape = pending.closed ? "polygon" : "polyline";
        element(shape, { points: points.map((p) => p.join(",")).join(" "), class: "body-map__pending-line" }, view.pending);
      }
      for (const [x, y] of points) element("circle", { cx: x, cy: y, r: 3, class: "body-map__pending-point" }, view.pending);
    }
  }
}

function labelAt(points) {
  const x = Math.max(...points.map((p) => p[0]));
  const y = points.reduce((sum, p) => sum + p[1], 0) / points.length;
  return [Math.min(x, WIDTH - 14), y];
}
