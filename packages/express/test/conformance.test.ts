import express from 'express';
import express4 from 'express4';
import { describeConformance } from '../../http/test/conformance/index.js';
import { expressHarness } from './harness.js';

describeConformance(expressHarness('Express 5', express));
describeConformance(expressHarness('Express 4', express4));
