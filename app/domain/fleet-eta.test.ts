import { describeFleetEta, fleetEta } from './fleet-eta';

describe('fleetEta', () => {
  it('runs the remaining jobs in waves of the fleet size', () => {
    expect(fleetEta({ remaining: 200, fleetSize: 10, maxInstances: 10, secondsPerJob: 2 })).toEqual({
      kind: 'estimate',
      seconds: 40,
      instances: 10,
      scalingOut: false,
    });
    expect(fleetEta({ remaining: 21, fleetSize: 10, maxInstances: 10, secondsPerJob: 60 })).toMatchObject({
      seconds: 180,
    });
  });

  it('counts on the fleet scaling out to what the batch needs, up to the maximum', () => {
    expect(fleetEta({ remaining: 5, fleetSize: 1, maxInstances: 10, secondsPerJob: 30 })).toEqual({
      kind: 'estimate',
      seconds: 30,
      instances: 5,
      scalingOut: true,
    });
    expect(fleetEta({ remaining: 50, fleetSize: 0, maxInstances: 10, secondsPerJob: 30 })).toMatchObject({
      seconds: 150,
      instances: 10,
    });
  });

  it('says done, or unknown before any chapter has a duration', () => {
    expect(fleetEta({ remaining: 0, fleetSize: 3, maxInstances: 10, secondsPerJob: 2 })).toEqual({ kind: 'done' });
    expect(describeFleetEta(fleetEta({ remaining: 4, fleetSize: 3, maxInstances: 10, secondsPerJob: null }))).toBe(
      'unknown until a chapter has finished',
    );
    expect(describeFleetEta(fleetEta({ remaining: 200, fleetSize: 10, maxInstances: 10, secondsPerJob: 60 }))).toBe(
      'about 20 min on 10 instances',
    );
    expect(describeFleetEta(fleetEta({ remaining: 1, fleetSize: 0, maxInstances: 10, secondsPerJob: 12 }))).toBe(
      'about 12 s on 1 instance (scaling out)',
    );
  });
});
