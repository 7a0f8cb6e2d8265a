// The outline of a child's body, front and back, in a 200 by 440 box, and named places on it.
// Marks are stored as fractions of this box (x / WIDTH, y / HEIGHT), front and back alike.
// Both views face the reader: on the front the child's right is on the left, on the back on the right.

export const WIDTH = 200;
export const HEIGHT = 440;

// The left half of the body as the reader sees it, from the neck down and back up to the crotch;
// the right half is its mirror image.
const half = [
  [91, 62], [90, 78], [72, 84], [58, 90], [52, 104], [48, 140], [44, 176], [40, 212], [36, 224], [36, 240], [42, 248],
  [48, 244], [52, 226], [54, 212], [58, 176], [62, 140], [66, 118], [68, 150], [66, 188], [64, 214], [66, 250], [70, 300],
  [72, 340], [72, 380], [74, 404], [66, 414], [64, 424], [90, 426], [92, 414], [92, 380], [94, 340], [96, 300], [99, 250],
];

function path(points) {
  return "M" + points.map(([x, y]) => `${x} ${y}`).join(" L") + " Z";
}

/** The body below the head, one closed path. */
export const body = path([...half, [100, 244], ...half.slice().reverse().map(([x, y]) => [WIDTH - x, y])]);

/** The head: an ellipse. */
export const head = { cx: 100, cy: 36, rx: 22, ry: 27 };

/** A few lines that tell front from back at a glance: a face on the front, a spine on the back. */
export const details = {
  front: ["M92 32 L92 34", "M108 32 L108 34", "M94 48 Q100 52 106 48", "M100 190 L100 192"],
  back: ["M100 86 L100 212", "M100 226 Q86 236 76 232", "M100 226 Q114 236 124 232"],
};

// Places on the body, where the front view shows them; `sided` places are the child's right
// (the reader's left on the front). On the back a sided place is mirrored.
const places = [
  { front: "Top of the head", back: "Top of the head", x: 100, y: 16 },
  { front: "Face", back: "Back of the head", x: 100, y: 40 },
  { front: "Neck", back: "Back of the neck", x: 100, y: 72 },
  { front: "shoulder", back: "shoulder", x: 68, y: 90, sided: true },
  { front: "Chest", back: "Upper back", x: 100, y: 112 },
  { front: "Tummy", back: "Lower back", x: 100, y: 172 },
  { front: "upper arm", back: "upper arm", x: 54, y: 125, sided: true },
  { front: "forearm", back: "forearm", x: 48, y: 188, sided: true },
  { front: "hand", back: "hand", x: 43, y: 234, sided: true },
  { front: "hip", back: "buttock", x: 80, y: 226, sided: true },
  { front: "thigh", back: "back of the thigh", x: 82, y: 282, sided: true },
  { front: "knee", back: "back of the knee", x: 83, y: 340, sided: true },
  { front: "shin", back: "calf", x: 83, y: 376, sided: true },
  { front: "foot", back: "heel", x: 80, y: 416, sided: true },
];

function sidedName(name, which) {
  return name.startsWith("back of the ") ? `back of the ${which} ${name.slice(12)}` : `${which} ${name}`;
}

/** The named places of one side: { id, name, x, y } in the box's units, each sided place twice. */
export function regions(side) {
  const list = [];
  places.forEach((place, index) => {
    const name = place[side];
    if (!place.sided) {
      list.push({ id: `${index}`, name, x: place.x, y: place.y });
      return;
    }
    // The child's right is the reader's left on the front and the reader's right on the back.
    const rightX = side === "front" ? place.x : WIDTH - place.x;
    const right = sidedName(name, "right"), left = sidedName(name, "left");
    list.push({ id: `${index}r`, name: right.charAt(0).toUpperCase() + right.slice(1), x: rightX, y: place.y });
    list.push({ id: `${index}l`, name: left.charAt(0).toUpperCase() + left.slice(1), x: WIDTH - rightX, y: place.y });
  });
  return list;
}

/** The named place nearest a point of one side, for words such as "near the left knee". */
export function nearest(side, x, y) {
  let best = null, distance = Infinity;
  for (const region of regions(side)) {
    const d = (region.x - x) ** 2 + (region.y - y) ** 2;
    if (d < distance) [best, distance] = [region, d];
  }
  return best;
}
