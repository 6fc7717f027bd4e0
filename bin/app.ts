#!/usr/bin/env node
import { createCacheWarmersApp } from '../infra/cacheWarmersApp';

createCacheWarmersApp().app.synth();
