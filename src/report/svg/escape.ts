/**
 * Escaping for XML-family output (SVG, HTML, JUnit XML). One function for text and
 * attribute values alike: it escapes the five XML specials and drops characters XML 1.0
 * does not allow at all (control characters other than tab, LF, CR).
 */
// eslint-disable-next-line no-control-regex
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function escapeXml(value: string | number): string {
  return String(value)
    .replace(INVALID_XML_CHARS, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
