/**
 * --author is matched against "Name <email>" of a commit's author line. Walks read that line
 * alone (authorIdentityOfCommit); it must give what parsing the whole commit gives, or null so
 * that the whole parse decides.
 */
import { expect } from 'chai';
import { authorIdentity, authorIdentityOfCommit, parseCommit } from '../../src/git/objects.js';

const TREE = 'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n';
const PARENT = 'parent 1111111111111111111111111111111111111111\n';
const COMMITTER = 'committer C O Mitter <c@example.com> 1600000000 +0000\n';

describe('reading the author identity of a commit object', () => {
  const cases: [string, Buffer, boolean][] = [
    ['a plain commit', Buffer.from(`${TREE}${PARENT}author A U Thor <a@example.com> 1600000000 +0200\n${COMMITTER}\nmessage\n`), true],
    ['a root commit without a message', Buffer.from(`${TREE}author A <a@x> 1 +0000\n${COMMITTER}`), true],
    ['the author line last, no newline', Buffer.from(`${TREE}author A <a@x> 1 +0000`), true],
    ['non-ASCII names', Buffer.from(`${TREE}author Nguyễn Thái Ngọc Duy <pclouds@gmail.com> 1 +0700\n${COMMITTER}\nZoë\n`), true],
    ['a name starting with a byte order mark', Buffer.from(`${TREE}author \ufeffBom <b@x> 1 +0000\n${COMMITTER}\n`), true],
    ['invalid UTF-8 in the name', Buffer.concat([Buffer.from(`${TREE}author Lat`), Buffer.from([0xe9, 0xff, 0xc3]), Buffer.from(` <l@x> 1 +0000\n${COMMITTER}\n`)]), true],
    ['no space before the email', Buffer.from(`${TREE}author Name<n@x> 1 +0000\n${COMMITTER}\n`), true],
    ['two spaces before the email', Buffer.from(`${TREE}author Name  <n@x> 1 +0000\n${COMMITTER}\n`), true],
    ['no timestamp', Buffer.from(`${TREE}author Name <n@x>\n${COMMITTER}\n`), true],
    ['an author line only in the message', Buffer.from(`${TREE}${COMMITTER}\nauthor Fake <f@x> 1 +0000\n`), false],
    ['no author line', Buffer.from(`${TREE}${COMMITTER}\nmessage\n`), false],
    ['two author lines', Buffer.from(`${TREE}author First <1@x> 1 +0000\nauthor Second <2@x> 1 +0000\n${COMMITTER}\n`), false],
    ['an author line continued on the next', Buffer.from(`${TREE}author Split <s@x> 1 +0000\n more\n${COMMITTER}\n`), false],
    ['an author line first', Buffer.from(`author First <1@x> 1 +0000\n${TREE}${COMMITTER}\n`), false],
  ];
  for (const [label, content, fast] of cases) {
    it(`gives what parsing the whole commit gives: ${label}`, () => {
      const whole = authorIdentity(parseCommit('0'.repeat(40), content).author);
      const read = authorIdentityOfCommit(content);
      expect(read, label).to.equal(fast ? whole : null);
    });
  }
});
