/** epoll_ctl(2) operations (linux/eventpoll.h). */
import type { ValueTable } from '../types.js';

export const epollCtlOp: ValueTable = {
  name: 'epoll_ctl_op',
  kind: 'enum',
  entries: [
    { name: 'EPOLL_CTL_ADD', value: 1, meaning: 'Register a descriptor.' },
    { name: 'EPOLL_CTL_DEL', value: 2, meaning: 'Deregister a descriptor.' },
    { name: 'EPOLL_CTL_MOD', value: 3, meaning: 'Change the events of a registered descriptor.' },
  ],
};
