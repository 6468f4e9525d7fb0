import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig, helpText, OPTIONS, optionsTable, parseCommandLine, synopsis } from '../../src/config.js';

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../README.md');

/** The one options table (src/config.ts OPTIONS) is what the parser, --help and the README say. */
describe('options: one table for the parser, --help and the README', () => {
  const readme = readFileSync(README, 'utf8');

  it("the README's options table is the one OPTIONS generates", () => {
    const start = readme.indexOf('| option | variable | default | meaning |');
    expect(start, 'README has an options table').to.be.greaterThan(-1);
    const end = readme.indexOf('\n\n', start);
    expect(readme.slice(start, end) + '\n').to.equal(optionsTable());
  });

  it("the README's usage line is the synopsis OPTIONS generates", () => {
    expect(readme).to.contain('```\n' + synopsis() + '```');
  });

  it('--help lists every flag and variable with its default', () => {
    const help = helpText();
    for (const o of OPTIONS) {
      expect(help, o.flag).to.contain(o.metavar === undefined ? `--${o.flag} ` : `--${o.flag} ${o.metavar}`);
      expect(help, o.env).to.contain(o.env);
    }
    expect(help).to.contain('[default: ./repos]');
    expect(help).to.contain('-h, --help');
    for (const line of help.split('\n')) expect(line.length, line).to.be.at.most(100);
  });

  it('every option has a distinct flag, variable and Config key', () => {
    for (const field of ['flag', 'env', 'key'] as const) {
      const values = OPTIONS.map((o) => o[field]);
      expect(new Set(values).size, field).to.equal(values.length);
    }
  });

  it('a flag wins over its variable, the variable over the default', () => {
    const env = { FAKELAB_PORT: '9000', FAKELAB_HOST: '0.0.0.0' };
    const line = parseCommandLine(['--port', '7000'], env);
    expect(line.help).to.equal(false);
    if (line.help) return;
    expect(line.config.port).to.equal(7000);
    expect(line.config.host).to.equal('0.0.0.0');
    expect(line.config.logLevel).to.equal('info');
    expect(line.config.reposDir).to.equal(path.resolve('./repos'));
    expect(parseCommandLine(['--port=0'], {})).to.deep.include({ help: false });
    expect(defaultConfig()).to.deep.include({ port: 8080, host: '127.0.0.1', token: undefined });
  });

  it('refuses what it does not know, clearly', () => {
    const refused: [string[], RegExp][] = [
      [['--bogus', 'x'], /^unknown option --bogus \(known: --repos, /],
      [['-x'], /^unknown option -x/],
      [['stray'], /^unexpected argument: stray$/],
      [['--port'], /^--port needs a value$/],
      [['--port', '--host', 'h'], /^--port needs a value$/],
      [['--port', '70000'], /^invalid port: 70000$/],
      [['--port', '-1'], /^invalid port: -1$/],
      [['--port', 'eighty'], /^invalid port: eighty$/],
    ];
    for (const [argv, message] of refused) expect(() => parseCommandLine(argv, {}), argv.join(' ')).to.throw(message);
    // A value that starts with dashes can still be given inline.
    const inline = parseCommandLine(['--token=--odd'], {});
    expect(!inline.help && inline.config.token).to.equal('--odd');
  });

  it('--help or -h anywhere wins over everything else, even a bad option', () => {
    for (const argv of [['--help'], ['-h'], ['--port', '1', '--help'], ['--bogus', '-h']]) expect(parseCommandLine(argv, {}), argv.join(' ')).to.deep.equal({ help: true });
  });
});
