import { REGIONS, nearestRegion, partitionOf } from '../../../layers/topology/regions';
import { snapshot } from '../../support/snapshot';

describe('region topology', () => {
  test('knows every region of the published AWS ranges', () => {
    const regions = snapshot().compiled.stats.aws.regions.filter((r) => r !== 'GLOBAL');
    expect(regions.filter((r) => !REGIONS.some((known) => known.name === r))).toEqual([]);
  });

  test('every region of the table is in the partition its name says (the edge reads the partition from the name alone)', () => {
    expect(REGIONS.filter((region) => partitionOf(region.name) !== region.partition)).toEqual([]);
    expect(new Set(REGIONS.map((region) => region.partition))).toEqual(new Set(['aws', 'aws-us-gov', 'aws-cn', 'aws-eusc']));
  });

  test.each([
    ['us-gov-east-1', 'aws-us-gov'],
    ['cn-northwest-1', 'aws-cn'],
    ['eusc-de-east-1', 'aws-eusc'],
    ['eu-west-1', 'aws'],
    ['us-gov-north-9', 'aws-us-gov'], // newer than the table: by its name
    ['xx-new-1', 'aws'],
  ])('%s is in partition %s', (region, partition) => {
    expect(partitionOf(region)).toBe(partition);
  });

  test.each([
    ['eu-west-1', ['us-east-1', 'eu-west-1'], 'eu-west-1'],
    ['eu-west-2', ['us-east-1', 'eu-west-1', 'eu-central-1'], 'eu-west-1'],
    ['eu-south-1', ['us-east-1', 'eu-west-1', 'eu-central-1'], 'eu-central-1'],
    ['ap-south-1', ['us-east-1', 'eu-west-1', 'ap-southeast-1'], 'ap-southeast-1'],
    ['ap-northeast-3', ['us-east-1', 'ap-northeast-1', 'ap-southeast-1'], 'ap-northeast-1'],
    ['sa-east-1', ['us-east-1', 'eu-west-1'], 'us-east-1'],
    ['af-south-1', ['us-east-1', 'eu-west-1', 'ap-southeast-1'], 'eu-west-1'], // by cable, not by map
    ['us-west-1', ['us-east-1', 'us-west-2'], 'us-west-2'],
    ['xx-new-1', ['us-east-1'], undefined],
  ])('the nearest of %s among %j is %s', (from, candidates, expected) => {
    expect(nearestRegion(from, candidates)).toBe(expected);
  });
});
