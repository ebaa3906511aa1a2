import { attachLabels } from './target-check';

describe('attaching target labels to scraped ones', () => {
  it('keeps clashing scraped labels as exported_<name>, as Prometheus does with honor_labels: false', () => {
    expect(attachLabels({ job: 'app', path: '/a' }, { job: 'vitals-target', instance: 'h:1' })).toEqual({
      exported_job: 'app',
      path: '/a',
      job: 'vitals-target',
      instance: 'h:1',
    });
    expect(attachLabels({ job: 'a', exported_job: 'b' }, { job: 'c' })).toEqual({
      exported_exported_job: 'a',
      exported_job: 'b',
      job: 'c',
    });
  });

  it('replaces NUL in label values, which PostgreSQL cannot store', () => {
    expect(attachLabels({ a: 'x\u0000y' }, {})).toEqual({ a: 'x\uFFFDy' });
  });
});
