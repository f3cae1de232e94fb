/**
 * A tiny, strict XML reader for tests: elements, attributes, text, comments, the XML
 * declaration. Throws on mismatched tags, bad attribute syntax, unknown entities or raw
 * '<' / '&' in text. Enough to check the structure of junit.xml and SVG fragments.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_.:-]*/;
const ENTITY = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function decode(raw: string, where: string): string {
  if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(raw)) throw new Error(`bad entity in ${where}: ${raw.slice(0, 60)}`);
  return raw.replace(ENTITY, (_, e: string) =>
    e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'" : String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)),
  );
}

export function parseXml(xml: string): XmlElement {
  let i = 0;
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  const top = () => stack[stack.length - 1]!;
  while (i < xml.length) {
    if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i);
      if (end < 0) throw new Error('unterminated declaration');
      i = end + 2;
    } else if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end < 0) throw new Error('unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('</', i)) {
      const m = NAME.exec(xml.slice(i + 2));
      if (!m) throw new Error(`bad closing tag at ${i}`);
      const el = stack.pop()!;
      if (el.name !== m[0]) throw new Error(`</${m[0]}> closes <${el.name}> at ${i}`);
      i += 2 + m[0].length;
      while (/\s/.test(xml[i] ?? '')) i += 1;
      if (xml[i] !== '>') throw new Error(`bad closing tag at ${i}`);
      i += 1;
    } else if (xml[i] === '<') {
      const m = NAME.exec(xml.slice(i + 1));
      if (!m) throw new Error(`bad tag at ${i}: ${xml.slice(i, i + 20)}`);
      const el: XmlElement = { name: m[0], attrs: {}, children: [], text: '' };
      i += 1 + m[0].length;
      for (;;) {
        while (/\s/.test(xml[i] ?? '')) i += 1;
        if (xml.startsWith('/>', i)) { i += 2; top().children.push(el); break; }
        if (xml[i] === '>') { i += 1; top().children.push(el); stack.push(el); break; }
        const a = /^([A-Za-z_:][A-Za-z0-9_.:-]*)="([^"<]*)"/.exec(xml.slice(i));
        if (!a) throw new Error(`bad attribute in <${el.name}> at ${i}: ${xml.slice(i, i + 30)}`);
        if (a[1]! in el.attrs) throw new Error(`duplicate attribute ${a[1]} in <${el.name}>`);
        el.attrs[a[1]!] = decode(a[2]!, `<${el.name} ${a[1]}>`);
        i += a[0].length;
      }
    } else {
      const end = xml.indexOf('<', i);
      const raw = xml.slice(i, end < 0 ? xml.length : end);
      if (raw.includes('>') && raw.includes(']]>')) throw new Error('stray ]]>');
      top().text += decode(raw, `<${top().name}> text`);
      i = end < 0 ? xml.length : end;
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${top().name}>`);
  return root;
}

export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    for (const c of e.children) {
      if (c.name === name) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}
