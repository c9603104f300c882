// A tiny baseline JPEG encoder for solid-colour greyscale images: enough for a real,
// decodable profile photo without shipping binary files. Every 8x8 block has only a DC
// coefficient; the Huffman tables are minimal (valid per ITU T.81 Annex C).

function segment(marker: number, body: number[]): number[] {
  const len = body.length + 2;
  return [0xff, marker, len >> 8, len & 0xff, ...body];
}

/** Encodes a `size`x`size` (multiple of 8) greyscale image of one `grey` level (0-255). */
export function solidGreyJpeg(size: number, grey: number): Uint8Array {
  const blocks = (size / 8) ** 2;
  // Quantisation table of ones: DC coefficient = 8 * (grey - 128).
  const dc = 8 * (grey - 128);
  const cat = dc === 0 ? 0 : Math.floor(Math.log2(Math.abs(dc))) + 1;
  // DC table: category 0 -> "0", category `cat` -> "10". AC table: EOB (0x00) -> "0".
  const dcSymbols = cat === 0 ? [0] : [0, cat];
  const dcBits = new Array(16).fill(0);
  dcBits[0] = 1;
  if (cat !== 0) dcBits[1] = 1;
  const acBits = new Array(16).fill(0);
  acBits[0] = 1;

  const bits: number[] = [];
  const put = (value: number, n: number) => {
    for (let i = n - 1; i >= 0; i--) bits.push((value >> i) & 1);
  };
  for (let b = 0; b < blocks; b++) {
    if (b === 0 && cat !== 0) {
      put(0b10, 2);
      put(dc >= 0 ? dc : dc + (1 << cat) - 1, cat);
    } else {
      put(0, 1); // DC difference 0
    }
    put(0, 1); // EOB
  }
  while (bits.length % 8) bits.push(1);
  const scan: number[] = [];
  for (let i = 0; i < bits.length; i += 8) {
    let byte = 0;
    for (let j = 0; j < 8; j++) byte = (byte << 1) | bits[i + j];
    scan.push(byte);
    if (byte === 0xff) scan.push(0x00);
  }
  const out = [
    0xff,
    0xd8, // SOI
    ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]), // JFIF
    ...segment(0xdb, [0x00, ...new Array(64).fill(1)]), // DQT, table 0
    ...segment(0xc0, [8, size >> 8, size & 0xff, size >> 8, size & 0xff, 1, 1, 0x11, 0]), // SOF0
    ...segment(0xc4, [0x00, ...dcBits, ...dcSymbols]), // DHT DC 0
    ...segment(0xc4, [0x10, ...acBits, 0x00]), // DHT AC 0
    ...segment(0xda, [1, 1, 0x00, 0, 63, 0]), // SOS
    ...scan,
    0xff,
    0xd9, // EOI
  ];
  return new Uint8Array(out);
}
