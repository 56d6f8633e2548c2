import { describeConformance } from '../../http/test/conformance/index.js';
import { fastifyHarness } from './harness.js';

describeConformance(fastifyHarness());
