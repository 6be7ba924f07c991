/**
 * src/protocol/proto/metadata.proto as a protobufjs JSON descriptor, so the controller can encode its
 * commands by reflection without reading the .proto file at run time. Regenerate it with
 *   npx pbjs -t json src/protocol/proto/metadata.proto
 * and paste the output below; test/unit/controller/commands.test.ts fails when the two disagree.
 */
export const METADATA_SCHEMA = {
  nested: {
    tributary: {
      nested: {
        metadata: {
          nested: {
            RegisterBroker: {
              fields: {
                brokerId: {
                  type: 'uint32',
                  id: 1,
                  protoName: 'broker_id'
                },
                host: {
                  type: 'string',
                  id: 2
                },
                port: {
                  type: 'uint32',
                  id: 3
                },
                raftHost: {
                  type: 'string',
                  id: 4,
                  protoName: 'raft_host'
                },
                raftPort: {
                  type: 'uint32',
                  id: 5,
                  protoName: 'raft_port'
                },
                incarnation: {
                  type: 'uint64',
                  id: 6
                },
                kafkaHost: {
                  type: 'string',
                  id: 7,
                  protoName: 'kafka_host'
                },
                kafkaPort: {
                  type: 'uint32',
                  id: 8,
                  protoName: 'kafka_port'
                }
              }
            },
            FenceBroker: {
              fields: {
                brokerId: {
                  type: 'uint32',
                  id: 1,
                  protoName: 'broker_id'
                },
                incarnation: {
                  type: 'uint64',
                  id: 2
                }
              }
            },
            UnfenceBroker: {
              fields: {
                brokerId: {
                  type: 'uint32',
                  id: 1,
                  protoName: 'broker_id'
                },
                incarnation: {
                  type: 'uint64',
                  id: 2
                }
              }
            },
            PartitionAssignment: {
              fields: {
                replicas: {
                  rule: 'repeated',
                  type: 'uint32',
                  id: 1
                }
              }
            },
            CreateTopic: {
              fields: {
                name: {
                  type: 'string',
                  id: 1
                },
                partitionCount: {
                  type: 'uint32',
                  id: 2,
                  protoName: 'partition_count'
                },
                replicationFactor: {
                  type: 'uint32',
                  id: 3,
                  protoName: 'replication_factor'
                },
                configs: {
                  keyType: 'string',
                  type: 'string',
                  id: 4
                },
                assignments: {
                  rule: 'repeated',
                  type: 'PartitionAssignment',
                  id: 5
                },
                internal: {
                  type: 'bool',
                  id: 6
                }
              }
            },
            DeleteTopic: {
              fields: {
                name: {
                  type: 'string',
                  id: 1
                }
              }
            },
            AlterConfigs: {
              fields: {
                name: {
                  type: 'string',
                  id: 1
                },
                set: {
                  keyType: 'string',
                  type: 'string',
                  id: 2
                },
                remove: {
                  rule: 'repeated',
                  type: 'string',
                  id: 3
                }
              }
            },
            AllocateProducerIds: {
              fields: {
                brokerId: {
                  type: 'uint32',
                  id: 1,
                  protoName: 'broker_id'
                },
                blockStart: {
                  type: 'uint64',
                  id: 2,
                  protoName: 'block_start'
                },
                blockSize: {
                  type: 'uint32',
                  id: 3,
                  protoName: 'block_size'
                }
              }
            },
            CreatePartitions: {
              fields: {
                name: {
                  type: 'string',
                  id: 1
                },
                topicId: {
                  type: 'uint64',
                  id: 2,
                  protoName: 'topic_id'
                },
                partitionCount: {
                  type: 'uint32',
                  id: 3,
                  protoName: 'partition_count'
                },
                assignments: {
                  rule: 'repeated',
                  type: 'PartitionAssignment',
                  id: 4
                }
              }
            },
            AlterPartitionReassignment: {
              fields: {
                name: {
                  type: 'string',
                  id: 1
                },
                topicId: {
                  type: 'uint64',
                  id: 2,
                  protoName: 'topic_id'
                },
                partition: {
                  type: 'uint32',
                  id: 3
                },
                target: {
                  rule: 'repeated',
                  type: 'uint32',
                  id: 4
                },
                throttleBytesPerSec: {
                  type: 'uint64',
                  id: 5,
                  protoName: 'throttle_bytes_per_sec'
                }
              }
            },
            ReportPartitionReplicas: {
              fields: {
                name: {
                  type: 'string',
                  id: 1
                },
                topicId: {
                  type: 'uint64',
                  id: 2,
                  protoName: 'topic_id'
                },
                partition: {
                  type: 'uint32',
                  id: 3
                },
                reassignmentId: {
                  type: 'uint64',
                  id: 4,
                  protoName: 'reassignment_id'
                },
                confIndex: {
                  type: 'uint64',
                  id: 5,
                  protoName: 'conf_index'
                },
                voters: {
                  rule: 'repeated',
                  type: 'uint32',
                  id: 6
                },
                learners: {
                  rule: 'repeated',
                  type: 'uint32',
                  id: 7
                }
              }
            },
            DecommissionBroker: {
              fields: {
                brokerId: {
                  type: 'uint32',
                  id: 1,
                  protoName: 'broker_id'
                }
              }
            },
            UnregisterBroker: {
              fields: {
                brokerId: {
                  type: 'uint32',
                  id: 1,
                  protoName: 'broker_id'
                }
              }
            },
            AclBindingRecord: {
              fields: {
                principal: {
                  type: 'string',
                  id: 1
                },
                host: {
                  type: 'string',
                  id: 2
                },
                operation: {
                  type: 'string',
                  id: 3
                },
                permission: {
                  type: 'string',
                  id: 4
                },
                resourceType: {
                  type: 'string',
                  id: 5,
                  protoName: 'resource_type'
                },
                patternType: {
                  type: 'string',
                  id: 6,
                  protoName: 'pattern_type'
                },
                resourceName: {
                  type: 'string',
                  id: 7,
                  protoName: 'resource_name'
                }
              }
            },
            CreateAcls: {
              fields: {
                bindings: {
                  rule: 'repeated',
                  type: 'AclBindingRecord',
                  id: 1
                }
              }
            },
            DeleteAcls: {
              fields: {
                filters: {
                  rule: 'repeated',
                  type: 'AclBindingRecord',
                  id: 1
                }
              }
            },
            QuotaOpRecord: {
              fields: {
                key: {
                  type: 'string',
                  id: 1
                },
                value: {
                  type: 'uint64',
                  id: 2
                },
                remove: {
                  type: 'bool',
                  id: 3
                }
              }
            },
            QuotaAlterationRecord: {
              fields: {
                principal: {
                  type: 'string',
                  id: 1
                },
                ops: {
                  rule: 'repeated',
                  type: 'QuotaOpRecord',
                  id: 2
                }
              }
            },
            AlterClientQuotas: {
              fields: {
                alterations: {
                  rule: 'repeated',
                  type: 'QuotaAlterationRecord',
                  id: 1
                }
              }
            },
            MetadataCommand: {
              oneofs: {
                command: {
                  oneof: ['registerBroker', 'fenceBroker', 'unfenceBroker', 'createTopic', 'deleteTopic', 'alterConfigs', 'allocateProducerIds', 'createPartitions', 'alterPartitionReassignment', 'reportPartitionReplicas', 'decommissionBroker', 'unregisterBroker', 'createAcls', 'deleteAcls', 'alterClientQuotas']
                }
              },
              fields: {
                registerBroker: {
                  type: 'RegisterBroker',
                  id: 1,
                  protoName: 'register_broker'
                },
                fenceBroker: {
                  type: 'FenceBroker',
                  id: 2,
                  protoName: 'fence_broker'
                },
                unfenceBroker: {
                  type: 'UnfenceBroker',
                  id: 3,
                  protoName: 'unfence_broker'
                },
                createTopic: {
                  type: 'CreateTopic',
                  id: 4,
                  protoName: 'create_topic'
                },
                deleteTopic: {
                  type: 'DeleteTopic',
                  id: 5,
                  protoName: 'delete_topic'
                },
                alterConfigs: {
                  type: 'AlterConfigs',
                  id: 6,
                  protoName: 'alter_configs'
                },
                allocateProducerIds: {
                  type: 'AllocateProducerIds',
                  id: 7,
                  protoName: 'allocate_producer_ids'
                },
                createPartitions: {
                  type: 'CreatePartitions',
                  id: 8,
                  protoName: 'create_partitions'
                },
                alterPartitionReassignment: {
                  type: 'AlterPartitionReassignment',
                  id: 9,
                  protoName: 'alter_partition_reassignment'
                },
                reportPartitionReplicas: {
                  type: 'ReportPartitionReplicas',
                  id: 10,
                  protoName: 'report_partition_replicas'
                },
                decommissionBroker: {
                  type: 'DecommissionBroker',
                  id: 11,
                  protoName: 'decommission_broker'
                },
                unregisterBroker: {
                  type: 'UnregisterBroker',
                  id: 12,
                  protoName: 'unregister_broker'
                },
                createAcls: {
                  type: 'CreateAcls',
                  id: 13,
                  protoName: 'create_acls'
                },
                deleteAcls: {
                  type: 'DeleteAcls',
                  id: 14,
                  protoName: 'delete_acls'
                },
                alterClientQuotas: {
                  type: 'AlterClientQuotas',
                  id: 15,
                  protoName: 'alter_client_quotas'
                }
              }
            },
            BrokerRecord: {
              fields: {
                brokerId: {
                  type: 'uint32',
                  id: 1,
                  protoName: 'broker_id'
                },
                host: {
                  type: 'string',
                  id: 2
                },
                port: {
                  type: 'uint32',
                  id: 3
                },
                raftHost: {
                  type: 'string',
                  id: 4,
                  protoName: 'raft_host'
                },
                raftPort: {
                  type: 'uint32',
                  id: 5,
                  protoName: 'raft_port'
                },
                incarnation: {
                  type: 'uint64',
                  id: 6
                },
                fenced: {
                  type: 'bool',
                  id: 7
                },
                epoch: {
                  type: 'uint64',
                  id: 8
                },
                decommissioning: {
                  type: 'bool',
                  id: 9
                },
                kafkaHost: {
                  type: 'string',
                  id: 10,
                  protoName: 'kafka_host'
                },
                kafkaPort: {
                  type: 'uint32',
                  id: 11,
                  protoName: 'kafka_port'
                }
              }
            },
            DecommissionedBrokerRecord: {
              fields: {
                brokerId: {
                  type: 'uint32',
                  id: 1,
                  protoName: 'broker_id'
                },
                incarnation: {
                  type: 'uint64',
                  id: 2
                },
                index: {
                  type: 'uint64',
                  id: 3
                }
              }
            },
            TopicRecord: {
              fields: {
                name: {
                  type: 'string',
                  id: 1
                },
                topicId: {
                  type: 'uint64',
                  id: 2,
                  protoName: 'topic_id'
                },
                replicationFactor: {
                  type: 'uint32',
                  id: 3,
                  protoName: 'replication_factor'
                },
                configs: {
                  keyType: 'string',
                  type: 'string',
                  id: 4
                },
                partitions: {
                  rule: 'repeated',
                  type: 'PartitionAssignment',
                  id: 5
                },
                internal: {
                  type: 'bool',
                  id: 6
                },
                movedPartitions: {
                  rule: 'repeated',
                  type: 'uint32',
                  id: 7,
                  protoName: 'moved_partitions'
                },
                reassignments: {
                  rule: 'repeated',
                  type: 'PartitionReassignmentRecord',
                  id: 8
                }
              }
            },
            PartitionReassignmentRecord: {
              fields: {
                partition: {
                  type: 'uint32',
                  id: 1
                },
                target: {
                  rule: 'repeated',
                  type: 'uint32',
                  id: 2
                },
                reassignmentId: {
                  type: 'uint64',
                  id: 3,
                  protoName: 'reassignment_id'
                },
                confIndex: {
                  type: 'uint64',
                  id: 4,
                  protoName: 'conf_index'
                },
                learners: {
                  rule: 'repeated',
                  type: 'uint32',
                  id: 5
                },
                throttleBytesPerSec: {
                  type: 'uint64',
                  id: 6,
                  protoName: 'throttle_bytes_per_sec'
                }
              }
            },
            ProducerIdBlockRecord: {
              fields: {
                brokerId: {
                  type: 'uint32',
                  id: 1,
                  protoName: 'broker_id'
                },
                blockStart: {
                  type: 'uint64',
                  id: 2,
                  protoName: 'block_start'
                },
                blockSize: {
                  type: 'uint32',
                  id: 3,
                  protoName: 'block_size'
                }
              }
            },
            MetadataSnapshot: {
              fields: {
                lastAppliedIndex: {
                  type: 'uint64',
                  id: 1,
                  protoName: 'last_applied_index'
                },
                nextProducerId: {
                  type: 'uint64',
                  id: 2,
                  protoName: 'next_producer_id'
                },
                brokers: {
                  rule: 'repeated',
                  type: 'BrokerRecord',
                  id: 3
                },
                topics: {
                  rule: 'repeated',
                  type: 'TopicRecord',
                  id: 4
                },
                producerIdBlocks: {
                  rule: 'repeated',
                  type: 'ProducerIdBlockRecord',
                  id: 5,
                  protoName: 'producer_id_blocks'
                },
                decommissionedBrokers: {
                  rule: 'repeated',
                  type: 'DecommissionedBrokerRecord',
                  id: 6,
                  protoName: 'decommissioned_brokers'
                },
                acls: {
                  rule: 'repeated',
                  type: 'AclBindingRecord',
                  id: 7
                },
                clientQuotas: {
                  rule: 'repeated',
                  type: 'ClientQuotaRecord',
                  id: 8,
                  protoName: 'client_quotas'
                }
              }
            },
            ClientQuotaRecord: {
              fields: {
                principal: {
                  type: 'string',
                  id: 1
                },
                producerByteRate: {
                  type: 'uint64',
                  id: 2,
                  protoName: 'producer_byte_rate'
                },
                consumerByteRate: {
                  type: 'uint64',
                  id: 3,
                  protoName: 'consumer_byte_rate'
                }
              }
            }
          }
        }
      }
    }
  }
};
