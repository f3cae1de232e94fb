import t from 'tap';
import { balancerConformance } from '../helpers/real-balancer.js';

balancerConformance(t, 'haproxy');
