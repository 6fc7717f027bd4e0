import { describe, expect, it } from 'vitest';
import { renderFields, renderTable } from '../../../functions/local/cli/renderTable';

describe('renderTable', () => {
  it('aligns columns under a header and a rule, numbers to the right', () => {
    expect(
      renderTable(
        [{ header: 'KEY' }, { header: 'READS', align: 'right' }, { header: 'NOTE' }],
        [
          ['product:1', '1,204', 'hot'],
          ['home', '7', ''],
        ],
      ),
    ).toBe(
      ['KEY        READS  NOTE', '---------  -----  ----', 'product:1  1,204  hot', 'home           7'].join(
        '\n',
      ),
    );
  });

  it('cuts a cell longer than its column allows', () => {
    expect(renderTable([{ header: 'REASON', maxWidth: 8 }], [['connection refused']])).toBe(
      ['REASON', '--------', 'connect…'].join('\n'),
    );
  });

  it('leaves a wrapping last column whole, its rule as long as the header', () => {
    expect(
      renderTable(
        [{ header: 'KEY' }, { header: 'REASON', wrap: true }],
        [['a', 'GET /a answered 503: origin: product a is corrupt']],
      ),
    ).toBe(
      ['KEY  REASON', '---  ------', 'a    GET /a answered 503: origin: product a is corrupt'].join('\n'),
    );
  });

  it('renders label / value pairs without a header', () => {
    expect(
      renderFields([
        ['run', 'r-1'],
        ['remaining', '0'],
      ]),
    ).toBe(['run        r-1', 'remaining  0'].join('\n'));
  });
});
