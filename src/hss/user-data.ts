import type { Subscriber } from './subscriber.js';

/**
 * The Cx User-Data (TS 29.228 §7.7, Annex D/E): the IMSSubscription document the S-CSCF receives in an SAA
 * or PPR. When a subscriber has no document of its own, one is generated from the model: one ServiceProfile
 * per service profile id, each listing its public identities (BarringIndication before Identity, as
 * tPublicIdentity orders them in CxDataType.xsd) and no initial filter criteria.
 */
export function imsSubscriptionXml(s: Subscriber): string {
  if (s.userData) return s.userData;
  const profiles = new Map<string, Subscriber['impus']>();
  for (const p of s.impus) {
    const id = p.serviceProfileId ?? '';
    let list = profiles.get(id);
    if (!list) profiles.set(id, (list = []));
    list.push(p);
  }
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<IMSSubscription xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="CxDataType.xsd">',
    `<PrivateID>${escapeXml(s.impi)}</PrivateID>`,
  ];
  for (const impus of profiles.values()) {
    out.push('<ServiceProfile>');
    for (const p of impus) {
      out.push('<PublicIdentity>');
      if (p.barred) out.push('<BarringIndication>1</BarringIndication>');
      out.push(`<Identity>${escapeXml(p.uri)}</Identity>`);
      out.push('</PublicIdentity>');
    }
    out.push('</ServiceProfile>');
  }
  out.push('</IMSSubscription>');
  return out.join('\n');
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * A light well-formedness check for User-Data supplied by an operator: it must be an IMSSubscription
 * document with a PrivateID and at least one ServiceProfile (TS 29.228 Annex E). Full schema validation is
 * left to the S-CSCF that interprets the iFC.
 */
export function checkImsSubscriptionXml(xml: string): string | undefined {
  const body = xml.replace(/^\s*<\?xml[^>]*\?>/, '').trim();
  if (!body.startsWith('<IMSSubscription')) return 'User-Data must be an <IMSSubscription> document (TS 29.228 Annex E)';
  if (!body.includes('<PrivateID>')) return 'User-Data has no <PrivateID>';
  if (!body.includes('<ServiceProfile>')) return 'User-Data has no <ServiceProfile>';
  if (!body.endsWith('</IMSSubscription>')) return 'User-Data does not end with </IMSSubscription>';
  return undefined;
}
