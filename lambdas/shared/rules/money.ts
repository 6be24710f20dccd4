/**
 * Money is counted in pico-USD (1e-12 USD) as bigint, never as accumulated floats, so that the
 * spent figure of a budget is exactly the sum of the settled requests' costs.
 */
export const PICO_PER_USD = 1_000_000_000_000n;
const PICO_DIGITS = 12;

/** Parse a decimal USD amount (number or string, plain or exponent notation) into pico-USD. */
export function usdToPico(value: number | string): bigint {
  const text = typeof value === 'number' ? numberToPlainDecimal(value) : value.trim();
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new RangeError(`not a decimal amount: ${text}`);
  const [, sign = '', whole = '0', fraction = ''] = match;
  if (fraction.length > PICO_DIGITS && /[1-9]/.test(fraction.slice(PICO_DIGITS))) {
    throw new RangeError(`amount ${text} is finer than one pico-USD`);
  }
  const pico = BigInt(whole) * PICO_PER_USD + BigInt(fraction.slice(0, PICO_DIGITS).padEnd(PICO_DIGITS, '0'));
  return sign === '-' ? -pico : pico;
}

function numberToPlainDecimal(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite amount: ${value}`);
  const text = String(value);
  if (!/e/i.test(text)) return text;
  // Exponent notation (3.5e-7): rebuild the plain decimal from the digits, exactly.
  const [mantissa = '', exponentText = '0'] = text.toLowerCase().split('e');
  const negative = mantissa.startsWith('-');
  const [intPart = '', fracPart = ''] = mantissa.replace('-', '').split('.');
  const digits = intPart + fracPart;
  const point = intPart.length + Number(exponentText);
  const plain =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (negative ? '-' : '') + plain;
}

/** Format pico-USD as a plain decimal string with no trailing zeros ("0.0000103"). */
export function formatUsd(pico: bigint): string {
  const negative = pico < 0n;
  const abs = negative ? -pico : pico;
  const whole = abs / PICO_PER_USD;
  const fraction = (abs % PICO_PER_USD).toString().padStart(PICO_DIGITS, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** pico-USD as a JSON number: the double nearest the exact decimal, which prints back as it. */
export function picoToUsd(pico: bigint): number {
  return Number(formatUsd(pico));
}

/** Cost of `tokens` at a price in pico-USD per 1,000 tokens, rounded up to the next pico-USD. */
export function costOfTokens(tokens: number, pricePer1kPico: bigint): bigint {
  const numerator = BigInt(tokens) * pricePer1kPico;
  return (numerator + 999n) / 1000n;
}

export function maxBigInt(...values: bigint[]): bigint {
  return values.reduce((a, b) => (b > a ? b : a));
}
