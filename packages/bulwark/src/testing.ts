export * from '@bulwark/core/testing';
