/**
 * The order of strings by their UTF-8 bytes (the order of code points), which stream listings
 * use. JavaScript compares UTF-16 code units, which agrees except where a surrogate pair (a code
 * point above U+FFFF) meets a unit in U+E000–U+FFFF: the pair sorts first in UTF-16, last in
 * UTF-8. Only those units are remapped.
 */
function rank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x < 0xd800 && y < 0xd800 ? x - y : rank(x) - rank(y);
  }
  return a.length - b.length;
}
