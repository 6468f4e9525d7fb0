import type { SignatureEntity } from './wire.js';

/**
 * GitLab's CommitSignature for a signed commit. fakelab has no keys to verify against, so every
 * signature is "unverified"; what can be read from the signature itself (its type and, for
 * OpenPGP, the issuer key id) is filled in.
 */
export function signatureEntity(armored: string): SignatureEntity | null {
  const base = { verification_status: 'unverified', commit_source: 'gitaly' } as const;
  if (armored.includes('-----BEGIN PGP SIGNATURE-----')) {
    const keyId = pgpIssuerKeyId(armored);
    return {
      signature_type: 'PGP',
      ...base,
      gpg_key_id: null,
      gpg_key_primary_keyid: keyId,
      gpg_key_user_name: null,
      gpg_key_user_email: null,
      gpg_key_subkey_id: null,
    };
  }
  if (armored.includes('-----BEGIN SSH SIGNATURE-----')) return { signature_type: 'SSH', ...base, key: null };
  if (armored.includes('-----BEGIN SIGNED MESSAGE-----')) return { signature_type: 'X509', ...base, x509_certificate: null };
  return null;
}

/** The issuer key id (subpacket 16, or the low 8 bytes of an issuer fingerprint, 33) of an OpenPGP v4 signature. */
export function pgpIssuerKeyId(armored: string): string | null {
  const body = armored
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('-----') && !l.includes(':') && !l.startsWith('='))
    .join('');
  let packet: Buffer;
  try {
    packet = Buffer.from(body, 'base64');
  } catch {
    return null;
  }
  if (packet.length < 2 || !(packet[0] & 0x80)) return null;
  // Packet header: new format (0x40 bit) or old format.
  let p = 1;
  if (packet[0] & 0x40) {
    const len = packet[p++];
    if (len >= 192 && len < 224) p++;
    else if (len === 255) p += 4;
  } else {
    const lenType = packet[0] & 3;
    p += lenType === 0 ? 1 : lenType === 1 ? 2 : lenType === 2 ? 4 : 0;
  }
  if (packet[p] !== 4) return null; // signature version
  p += 4; // version, type, public-key algorithm, hash algorithm
  for (let area = 0; area < 2 && p + 2 <= packet.length; area++) {
    const size = packet.readUInt16BE(p);
    p += 2;
    const end = p + size;
    while (p < end) {
      let len = packet[p++];
      if (len >= 192 && len < 255) len = ((len - 192) << 8) + packet[p++] + 192;
      else if (len === 255) {
        len = packet.readUInt32BE(p);
        p += 4;
      }
      const type = packet[p] & 0x7f;
      if (type === 16 && len === 9) return packet.toString('hex', p + 1, p + 9).toUpperCase();
      if (type === 33 && len >= 22) return packet.toString('hex', p + len - 8, p + len).toUpperCase();
      p += len;
    }
  }
  return null;
}
