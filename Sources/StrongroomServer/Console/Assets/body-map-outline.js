// The outline of a child's body that marks are placed on, as the vault serves it
// (GET /v1/body-maps/outline): the same paths the stored drawing is made from, so a mark lands
// where the person put it. Positions are fractions (0 to 1) of the frame, across and down.
// Both views face the reader: on the front the child's right is on the left, on the back on the right.
import { call } from "./api.js";

/** { aspect, front: [{ points, closed }], back: [...] }, or null when it could not be had. */
export async function loadOutline() {
  const result = await call("GET", "/v1/body-maps/outline");
  if (!result.ok || !result.data || !(result.data.aspect > 0)) return null;
  return result.data;
}

// Places on the body, where the front view shows them; `sided` places are the child's right
// (the reader's left on the front). On the back a sided place is mirrored.
const places = [
  { front: "Top of the head", back: "Top of the head", x: 0.5, y: 0.025 },
  { front: "Face", back: "Back of the head", x: 0.5, y: 0.075 },
  { front: "Neck", back: "Back of the neck", x: 0.5, y: 0.125 },
  { front: "shoulder", back: "shoulder", x: 0.35, y: 0.18, sided: true },
  { front: "Chest", back: "Upper back", x: 0.5, y: 0.24 },
  { front: "Tummy", back: "Lower back", x: 0.5, y: 0.4 },
  { front: "upper arm", back: "upper arm", x: 0.24, y: 0.3, sided: true },
  { front: "forearm", back: "forearm", x: 0.18, y: 0.43, sided: true },
  { front: "hand", back: "hand", x: 0.13, y: 0.52, sided: true },
  { front: "hip", back: "buttock", x: 0.39, y: 0.51, sided: true },
  { front: "thigh", back: "back of the thigh", x: 0.4, y: 0.62, sided: true },
  { front: "knee", back: "back of the knee", x: 0.39, y: 0.72, sided: true },
  { front: "shin", back: "calf", x: 0.4, y: 0.84, sided: true },
  { front: "foot", back: "heel", x: 0.38, y: 0.96, sided: true },
];

function sidedName(name, which) {
  const words = name.startsWith("back of the ") ? `back of the ${which} ${name.slice(12)}` : `${which} ${name}`;
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The named places of one side: { id, name, x, y } as fractions, each sided place twice. */
export function regions(side) {
  const list = [];
  places.forEach((place, index) => {
    const name = place[side];
    if (!place.sided) {
      list.push({ id: `${index}`, name, x: place.x, y: place.y });
      return;
    }
    // The child's right is the reader's left on the front and the reader's right on the back.
    const rightX = side === "front" ? place.x : 1 - place.x;
    list.push({ id: `${index}r`, name: sidedName(name, "right"), x: rightX, y: place.y });
    list.push({ id: `${index}l`, name: sidedName(name, "left"), x: 1 - rightX, y: place.y });
  });
  return list;
}

/** The named place nearest a position on one side, for words such as "near the left knee". */
export function nearest(side, x, y, aspect = 0.5) {
  let best = null, distance = Infinity;
  for (const region of regions(side)) {
    // In the frame's own proportions: a step down is 1 / aspect times a step across.
    const d = ((region.x - x) * aspect) ** 2 + (region.y - y) ** 2;
    if (d < distance) [best, distance] = [region, d];
  }
  return best;
}
